"""Helpers shared by the network definitions (not a workload itself)."""
from __future__ import annotations


def ch(c: int, width: float, divisor: int = 1) -> int:
    """Scale a channel count by ``width``, keeping at least ``divisor`` and a multiple of it."""
    if width == 1.0:
        return c
    return max(divisor, int(round(c * width / divisor)) * divisor)
