"""Memory cost models (pure: no SimPy, no torch): bank technologies behind one interface, DRAM, scenarios."""
from .base import (BankCharacteristics, BankGeometry, MemoryTechnology, OptionError, TechnologyOptions,
                   characterize, technologies, technology)


def _register_builtins() -> None:
    import importlib
    import pkgutil

    for mod in pkgutil.iter_modules(__path__):
        if not mod.name.startswith("_") and mod.name not in ("base",):
            importlib.import_module(f"{__name__}.{mod.name}")


class _Loader:
    done = False


def __getattr__(name):  # lazily register built-in technologies on first use of ``_load_builtin``
    if name == "_load_builtin":
        if not _Loader.done:
            _Loader.done = True
            _register_builtins()
        return True
    raise AttributeError(name)


__all__ = ["BankCharacteristics", "BankGeometry", "MemoryTechnology", "OptionError", "TechnologyOptions",
           "characterize", "technologies", "technology"]
