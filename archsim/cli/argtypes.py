"""argparse value types shared by the commands."""
from __future__ import annotations

import argparse


def float_list(text: str) -> list[float]:
    """``"1,4,16"`` -> ``[1.0, 4.0, 16.0]`` (at least one number)."""
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError("expected at least one number")
    return vals
