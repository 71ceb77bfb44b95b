"""What this CPU can do natively, for training choices that only pay off on some CPUs (bfloat16)."""

from __future__ import annotations

from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")
BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
"""x86 flags of native bfloat16 arithmetic; without them torch emulates it."""


def cpu_flags(cpuinfo: str) -> frozenset[str]:
    """The feature flags of the first processor listed in a /proc/cpuinfo text (empty if it has none)."""
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def native_bf16(cpuinfo: str | None = None) -> bool:
    """Does the CPU compute in bfloat16 natively (AVX512-BF16 or AMX)? Reads /proc/cpuinfo unless given its text."""
    if cpuinfo is None:
        try:
            cpuinfo = CPUINFO.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return False
    return bool(cpu_flags(cpuinfo) & BF16_FLAGS)


PRECISIONS = ("auto", "fp32", "bf16")


def training_precision(choice: str, cpuinfo: str | None = None) -> str:
    """The precision a training run uses for `choice` (one of PRECISIONS): auto is bf16 where the CPU has native
    bfloat16 (`native_bf16`), else fp32, where torch would emulate bf16 more slowly than it computes fp32."""
    if choice not in PRECISIONS:
        raise ValueError(f"precision {choice!r}: expected one of {', '.join(PRECISIONS)}")
    if choice != "auto":
        return choice
    return "bf16" if native_bf16(cpuinfo) else "fp32"
