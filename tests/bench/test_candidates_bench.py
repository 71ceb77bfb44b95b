"""The candidates benchmark times every arm on the same reads, which carry the OCR's CTC columns."""

from __future__ import annotations

import argparse

from bench.candidates import reads, run


def test_the_reads_carry_every_views_columns() -> None:
    results, alphabet, pad = reads(2)
    assert results and all(r.columns is not None and r.columns.shape[1:] == (40, len(alphabet)) for r in results)
    assert pad in alphabet


def test_every_arm_is_timed_on_every_read() -> None:
    out = run(argparse.Namespace(scenes=2))
    assert out["reads"] >= 2 and out["column_frames"] == 8
    for arm in ("slots", "columns_one_frame", "columns_8_frames"):
        assert 0 < out[f"{arm}_ms_p50"] <= out[f"{arm}_ms_p95"]  # type: ignore[operator]
