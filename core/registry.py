"""One registration style for every seam (engine, strategy, verifier, suite, grader).

An implementation file ends with one line, `REGISTRY.register(Spec(...))`, the way Inspect registers a
scorer with its decorator. The seam's package is imported module by module on the first lookup, so a new
file is found without being listed anywhere; implementations keep heavy imports (vLLM, torch) inside
functions, so discovery stays cheap.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Generic, Iterator, Protocol, TypeVar

from core.errors import UserError


class Named(Protocol):
    @property
    def name(self) -> str: ...


S = TypeVar("S", bound=Named)


class Registry(Generic[S]):
    """Specs of one seam by name. `packages` are searched (recursively) for registering modules."""

    def __init__(self, what: str, *packages: str) -> None:
        self.what = what
        self.packages = packages
        self._specs: dict[str, S] = {}
        self._discovered = False

    def register(self, spec: S) -> S:
        if spec.name in self._specs and self._specs[spec.name] is not spec:
            raise ValueError(f"{self.what} {spec.name!r} is registered twice")
        self._specs[spec.name] = spec
        return spec

    def discover(self) -> None:
        if self._discovered:
            return
        for package in self.packages:
            pkg = importlib.import_module(package)
            for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{package}."):
                importlib.import_module(info.name)
        # Only once every module imported: a failing module fails every lookup, never a silently partial registry.
        self._discovered = True

    def get(self, name: str) -> S:
        self.discover()
        if name not in self._specs:
            raise UserError(f"unknown {self.what} {name!r}; choose one of: {', '.join(self.names())}")
        return self._specs[name]

    def known(self, name: str) -> str:
        """`name` if registered, else ValueError naming the choices: for pydantic validators of a `kind` field."""
        if name not in self:
            raise ValueError(f"unknown {self.what} {name!r}; choose one of: {', '.join(self.names())}")
        return name

    def names(self) -> list[str]:
        self.discover()
        return sorted(self._specs)

    def __contains__(self, name: object) -> bool:
        self.discover()
        return name in self._specs

    def __getitem__(self, name: str) -> S:
        return self.get(name)

    def __iter__(self) -> Iterator[str]:
        """Names, sorted, like iterating a dict."""
        return iter(self.names())

    def specs(self) -> list[S]:
        return [self._specs[n] for n in self.names()]
