"""A registry of named extensions that register themselves, one module each.

A network generator, a market dynamic and a clearing model are each a name, a function and,
optionally, a parameter class: a frozen dataclass built from the config's ``params`` mapping whose
``__post_init__`` checks the values (raising ValueError), so a bad value is a one-line config
error when the scenario is read. ``load`` imports every module of a plug-in package, each of which
calls ``register`` when it is imported. Pure Python: no pydantic in the core.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class Registry(Generic[T]):
    """Extensions of one kind by name.

    ``kind``: what they are, for messages ("market dynamic"); ``entries``: name -> the extension
    (kept in registration order); ``params``: name -> its parameter class, for those that take
    parameters (None: it takes none)."""

    kind: str
    entries: dict[str, T] = field(default_factory=dict)
    params: dict[str, type] = field(default_factory=dict)

    def register(self, name: str, entry: T, params: type | None = None) -> T:
        """Add ``entry`` under ``name``; a name already taken is an error (no silent replacement)."""
        if name in self.entries:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self.entries[name] = entry
        if params is not None:
            self.params[name] = params
        return entry

    def own_params(self, name: str, values: Mapping[str, Any] | None) -> Any:
        """The parameter object of ``name`` built from ``values`` (None when it takes none).
        Raises ValueError with one line naming the extension and what is wrong."""
        cls = self.params.get(name)
        values = dict(values or {})
        if cls is None:
            if values:
                raise ValueError(f"params: {self.kind} {name!r} takes none, got {sorted(values)}")
            return None
        if is_dataclass(cls):
            known = [f.name for f in fields(cls)]
            unknown = sorted(k for k in values if k not in known)
            if unknown:
                raise ValueError(f"params for {self.kind} {name!r}: {', '.join(map(str, unknown))} not a parameter "
                                 f"(it takes {', '.join(known)})")
        try:
            return cls(**values)
        except (TypeError, ValueError) as err:
            raise ValueError(f"params for {self.kind} {name!r}: {err}") from None

    def load(self, package: str) -> None:
        """Import every module of ``package``: each registers its extension when imported."""
        pkg = importlib.import_module(package)
        for module in pkgutil.iter_modules(pkg.__path__):
            importlib.import_module(f"{package}.{module.name}")
