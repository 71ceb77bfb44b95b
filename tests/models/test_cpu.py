"""Native bfloat16 is recognised from the CPU's flags, so training picks bf16 only where it was measured to pay."""

from __future__ import annotations

from models.cpu import cpu_flags, native_bf16

ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 avx512f avx512_vnni avx512_bf16\n"
ZEN3 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse avx2 fma f16c sha_ni vaes\n"


def test_avx512_bf16_or_amx_counts_as_native_bfloat16() -> None:
    assert native_bf16(ZEN4)
    assert native_bf16(ZEN3.replace("vaes", "vaes amx_bf16 amx_tile"))


def test_an_avx2_only_cpu_has_no_native_bfloat16() -> None:
    assert cpu_flags(ZEN3) >= {"avx2", "fma"}
    assert not native_bf16(ZEN3)
    assert not native_bf16("")  # no flags line (e.g. an emulator): fp32
