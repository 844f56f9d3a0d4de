"""argparse value types shared by the commands.

Each raises :class:`argparse.ArgumentTypeError` with a message naming the bad value and what is allowed; argparse
prefixes it with the option (``argument --json: ...``) and exits with status 2.
"""
from __future__ import annotations

import argparse
import math
import os
import pathlib

#: file suffixes matplotlib's Agg backend writes (``--plot``): ``get_supported_filetypes()`` of matplotlib 3.11
#: less avif and gif, which need optional packages. Anything else is refused before any work is done
PLOT_SUFFIXES = (".png", ".pdf", ".svg", ".svgz", ".eps", ".ps", ".pgf", ".jpg", ".jpeg", ".tif", ".tiff", ".webp",
                 ".raw", ".rgba")


def _numbers(text: str) -> list[float]:
    try:
        vals = [float(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not vals:
        raise argparse.ArgumentTypeError(f"expected at least one number, got {text!r}")
    return vals


def float_list(text: str) -> list[float]:
    """``"1,4,16"`` -> ``[1.0, 4.0, 16.0]``: at least one number, all finite (no nan/inf)."""
    vals = _numbers(text)
    bad = [v for v in vals if not math.isfinite(v)]
    if bad:
        raise argparse.ArgumentTypeError(f"{bad[0]:g} is not a finite number (in {text!r})")
    return vals


def float_list_in(lo: float, hi: float, unit: str = ""):
    """Type factory: like :func:`float_list`, every number also within ``[lo, hi]`` (message names the range)."""
    rng = f"[{lo:g}, {hi:g}]" + (f" {unit}" if unit else "")

    def parse(text: str) -> list[float]:
        vals = _numbers(text)
        for v in vals:
            if not math.isfinite(v):
                raise argparse.ArgumentTypeError(f"{v:g} is not a finite number; allowed range {rng} (got {text!r})")
            if not lo <= v <= hi:
                raise argparse.ArgumentTypeError(f"{v:g} is outside the allowed range {rng} (got {text!r})")
        return vals

    parse.__name__ = "float_list_in"  # argparse names the type in some messages
    return parse


def nonempty(text: str) -> str:
    """A string that is not empty or blank (``--opt ""`` is an error, not "use the default")."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a non-empty value, got {text!r}")
    return text


def name_list(text: str) -> list[str]:
    """``"a, b"`` -> ``["a", "b"]``: comma-separated names, at least one, blanks dropped."""
    names = [t.strip() for t in text.split(",") if t.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"expected at least one comma-separated name, got {text!r}")
    return names


def _check_ancestors(p: pathlib.Path, text: str) -> None:
    from archsim.report.files import blocking_parent

    parent = blocking_parent(p)
    if parent is not None:
        raise argparse.ArgumentTypeError(f"cannot create {text!r}: {str(parent)!r} is a file, not a directory")


def output_file(text: str) -> str:
    """A file path to write: non-empty, not an existing directory, no existing non-directory above it."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a file path, got {text!r}")
    if text.endswith((os.sep, "/")) or os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text!r} is a directory; expected a file path")
    _check_ancestors(pathlib.Path(text), text)
    return text


def plot_file(text: str) -> str:
    """Like :func:`output_file`, and the suffix must be one matplotlib writes (:data:`PLOT_SUFFIXES`)."""
    text = output_file(text)
    suffix = pathlib.Path(text).suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise argparse.ArgumentTypeError(f"{text!r}: unsupported plot file type {suffix or '(no suffix)'!r}; "
                                         f"allowed: {', '.join(PLOT_SUFFIXES)}")
    return text


def output_dir(text: str) -> str:
    """A directory to write into (created if missing): non-empty, not an existing file, nothing above it a file."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a directory path, got {text!r}")
    p = pathlib.Path(text)
    if p.exists() and not p.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} exists and is not a directory")
    _check_ancestors(p, text)
    return text
