"""JSON and CSV writers. Files are written atomically (temp file + rename) so a reader never sees half a file."""
from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import pathlib
import secrets
import stat


def atomic_write_text(path: str | pathlib.Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder and a rename.

    The file gets the mode a plain ``open(path, "w")`` would give it (an existing file keeps its mode, a new one
    0o666 less the umask). An OS error (the path is a directory, a parent is a file, no permission, disk full)
    raises :class:`OutputError` (a ``ValueError``) with a one-line message naming the path. A symbolic link is
    written through (its target is replaced), and a path that exists but is no regular file (``/dev/stdout``, a
    FIFO) is written directly, as ``open()`` would.
    """
    if not str(path).strip():
        raise OutputError(f"cannot write {str(path)!r}: empty file name")
    p = pathlib.Path(os.path.realpath(path))
    if p.exists() and not p.is_dir() and not p.is_file():  # a device or FIFO: no temp file, no rename
        try:
            with open(p, "w") as fh:
                fh.write(text)
        except OSError as exc:
            raise OutputError(_describe(p, exc)) from None
        return
    try:
        if p.is_dir():
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(p))
        p.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = _create_temp(p)
    except OSError as exc:
        raise OutputError(_describe(p, exc)) from None
    try:
        try:
            mode = stat.S_IMODE(os.stat(p).st_mode) if p.is_file() else None
            if mode is not None:
                os.chmod(tmp, mode)
        except OSError:
            pass
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, p)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OutputError(_describe(p, exc)) from None
        raise


class OutputError(ValueError):
    """A report file could not be written (printed by the CLI as one line, exit status 2)."""


def _create_temp(p: pathlib.Path) -> tuple[int, str]:
    """Open a new, unique temp file next to ``p``; mode 0o666 less the umask, as ``open()`` would create it."""
    for _ in range(100):
        tmp = str(p.parent / f".{p.name}.{secrets.token_hex(4)}.tmp")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no free temporary file name", str(p.parent))


def blocking_parent(p: pathlib.Path) -> pathlib.Path | None:
    """The nearest existing folder above ``p`` if it is no folder (a file there keeps ``p`` from being made)."""
    for parent in p.parents:
        if parent.exists():
            return None if parent.is_dir() else parent
    return None


def _describe(p: pathlib.Path, exc: OSError) -> str:
    if isinstance(exc, IsADirectoryError) and p.is_dir():
        return f"cannot write {str(p)!r}: it is a directory; give a file path"
    if isinstance(exc, (FileExistsError, NotADirectoryError)) and (parent := blocking_parent(p)) is not None:
        return f"cannot write {str(p)!r}: {str(parent)!r} is not a directory"
    return f"cannot write {str(p)!r}: {exc.strerror or exc}"


def _clean(x):
    if isinstance(x, float) and (math.isinf(x) or math.isnan(x)):
        return None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean(v) for v in x]
    return x


def write_json(path, data: dict) -> None:
    atomic_write_text(path, json.dumps(_clean(data), indent=1, sort_keys=False) + "\n")


def flatten(rec: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in rec.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = "; ".join(map(str, v))
        else:
            out[key] = v
    return out


def write_csv(path, records: list[dict]) -> None:
    rows = [flatten(r) for r in records]
    cols: list[str] = []
    for r in rows:
        for k in r:
            if k not in cols:
                cols.append(k)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    atomic_write_text(path, buf.getvalue())
