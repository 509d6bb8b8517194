"""Registries for the places the project grows: propagation engines, export kinds and job kinds.

A :class:`Registry` maps names to specs. Its built-in entries are the modules of one package, found by
listing it (each module defines one spec under an agreed attribute, ``SPEC``), so adding an engine or an
export kind is adding one file; nothing else names it. Code outside the package (a third-party package,
or a test) registers through :meth:`Registry.register`, either directly or from a plugin: a callable
published under the entry-point group :data:`ENTRY_POINT_GROUP`, loaded once per process the first time
any registry is read. That is how a separate process (a worker started by the dashboard) gets the same
extra entries as its parent: they are installed, not passed around.

Lookups list built-ins in their spec's ``order`` (the order of CLI choices and dialog lists), then the
entries registered later, in registration order. Nothing heavy is imported here: a spec module must keep
numpy, torch and OpenCV imports inside its functions, because ``xmem-tui --help`` and the dashboard read
these lists before anything else.
"""

from __future__ import annotations

import importlib
import logging
import pkgutil
import threading
from collections.abc import Callable, Iterator
from typing import Generic, Protocol, TypeVar

log = logging.getLogger(__name__)

#: Entry-point group of plugins: each entry is a callable taking no arguments that registers specs.
ENTRY_POINT_GROUP = "xmem_tui.plugins"

_plugins_loaded = False
_plugins_lock = threading.RLock()


class Spec(Protocol):
    """What a registry holds: something with a name and a place in the built-in order."""

    @property
    def name(self) -> str: ...

    @property
    def order(self) -> int: ...


S = TypeVar("S", bound=Spec)


def load_plugins() -> None:
    """Call every installed plugin once (in entry-point name order); later calls do nothing.

    A plugin that fails to load is logged and skipped: a broken third-party package must not stop the
    application, which still has its built-ins.
    """
    global _plugins_loaded
    with _plugins_lock:
        if _plugins_loaded:
            return
        _plugins_loaded = True
        from importlib.metadata import entry_points

        for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                register: Callable[[], object] = entry.load()
                register()
            except Exception:
                log.exception("plugin %s (%s) failed to load; continuing without it", entry.name, entry.value)


class Registry(Generic[S]):
    """Named specs of one kind: built-ins from ``package`` plus whatever is registered later.

    Args:
        what: what the entries are, for messages ("engine", "export kind").
        package: dotted name of the package whose modules each define one built-in spec.
        attribute: the module attribute holding that spec.
    """

    def __init__(self, what: str, package: str, attribute: str = "SPEC") -> None:
        self.what = what
        self.package = package
        self.attribute = attribute
        self._entries: dict[str, S] = {}
        self._loaded = False
        self._lock = threading.RLock()

    def register(self, spec: S, *, replace: bool = False) -> S:
        """Add ``spec`` under ``spec.name``; ``replace`` lets it take the place of an existing entry.

        Raises:
            ValueError: the name is taken and ``replace`` is False (two plugins claiming one name is a bug).
        """
        self._ready()
        with self._lock:
            if spec.name in self._entries and not replace:
                raise ValueError(f"{self.what} {spec.name!r} is already registered")
            self._entries[spec.name] = spec
            return spec

    def unregister(self, name: str) -> None:
        """Remove ``name`` (a test's entry, once the test is over)."""
        self._ready()
        with self._lock:
            self._entries.pop(name, None)

    def get(self, name: str) -> S | None:
        """The spec called ``name``, or None."""
        return self.entries().get(name)

    def names(self) -> tuple[str, ...]:
        return tuple(self.entries())

    def entries(self) -> dict[str, S]:
        """Every spec by name, in listing order (a copy)."""
        self._ready()
        with self._lock:
            return dict(self._entries)

    def __iter__(self) -> Iterator[S]:
        return iter(self.entries().values())

    def _ready(self) -> None:
        """Load the built-ins once, then the plugins (outside this registry's lock: they register here)."""
        with self._lock:
            if not self._loaded:
                self._loaded = True  # first: a built-in module that reads this registry must not recurse
                package = importlib.import_module(self.package)
                found: list[S] = []
                for info in pkgutil.iter_modules(package.__path__):
                    if not info.name.startswith("_"):
                        module = importlib.import_module(f"{self.package}.{info.name}")
                        found.append(getattr(module, self.attribute))
                for spec in sorted(found, key=lambda s: (s.order, s.name)):
                    self._entries[spec.name] = spec
        load_plugins()
