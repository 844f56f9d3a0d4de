"""Command line: ``archsim <command>``. Each command is a module in this package with ``add_parser`` and ``run``.

User errors (bad config values, unknown names, missing files) print one line and exit 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand modules, in the order ``archsim --help`` lists them
COMMANDS = ("sim", "workloads", "device", "memory", "accuracy", "study")


class UserError(Exception):
    """An error caused by the user's input; printed as one line, exit status 2."""


def _format_validation_error(err) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e.get("loc", ())) or "config"
        msg = e.get("msg", "invalid")
        val = e.get("input")
        shown = "" if isinstance(val, (dict, list)) else f" (got {val!r})"
        parts.append(f"{loc}: {msg}{shown}")
    return "invalid configuration: " + "; ".join(parts)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="archsim", description="SRAM vs STT-MRAM scratchpads in DNN training "
                                "accelerators: device -> bank -> architecture -> accuracy.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:  # a command whose module is not present in this build
            if exc.name and exc.name.endswith(f"cli.{name}"):
                continue
            raise
        sp = mod.add_parser(sub)
        sp.set_defaults(_run=mod.run)
    return p


def main(argv: list[str] | None = None) -> int:
    from pydantic import ValidationError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "_run", None):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except ValidationError as err:
        print(f"archsim: {_format_validation_error(err)}", file=sys.stderr)
    except (UserError, KeyError, OSError, ValueError) as err:  # OSError: a file that cannot be read or written
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"archsim: error: {msg}", file=sys.stderr)
    except KeyboardInterrupt:
        print("archsim: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
