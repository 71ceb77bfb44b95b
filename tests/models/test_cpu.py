"""Native bfloat16 is recognised from the CPU's flags, so training picks bf16 only where it was measured to pay."""

from __future__ import annotations

import pytest

from models.cpu import cpu_flags, native_bf16, training_precision

ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 avx512f avx512_vnni avx512_bf16\n"
ZEN3 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 fma f16c sha_ni vaes\n"


def test_avx512_bf16_or_amx_counts_as_native_bfloat16() -> None:
    assert native_bf16(ZEN4)
    assert native_bf16(ZEN3.replace("vaes", "vaes amx_bf16 amx_tile"))


def test_an_avx2_only_cpu_has_no_native_bfloat16() -> None:
    assert cpu_flags(ZEN3) >= {"avx2", "fma"}
    assert not native_bf16(ZEN3)
    assert not native_bf16("")  # no flags line (e.g. an emulator): fp32


def test_auto_precision_trains_in_bf16_only_on_native_bfloat16_and_an_explicit_choice_wins() -> None:
    assert training_precision("auto", ZEN4) == "bf16"
    assert training_precision("auto", ZEN3) == "fp32"
    assert training_precision("fp32", ZEN4) == "fp32"
    assert training_precision("bf16", ZEN3) == "bf16"
    with pytest.raises(ValueError, match="expected one of auto, fp32, bf16"):
        training_precision("fp16", ZEN4)
