"""A counter-based generator from SHA-256: identical on every machine and Python version.

`random.Random` is stable in practice but its derived methods have changed between versions;
hashing (seed, stream, counter) pins the problems to the suite name forever.
"""

from __future__ import annotations

import hashlib
from typing import Any, Sequence, TypeVar

T = TypeVar("T")


class StableRng:
    def __init__(self, *key: object) -> None:
        self._key = "\x1f".join(map(str, key)).encode()
        self._counter = 0

    def _next64(self) -> int:
        digest = hashlib.sha256(self._key + b"\x1e" + str(self._counter).encode()).digest()
        self._counter += 1
        return int.from_bytes(digest[:8], "big")

    def randint(self, lo: int, hi: int) -> int:
        """Uniform on [lo, hi] by rejection, so there is no modulo bias."""
        span = hi - lo + 1
        limit = (1 << 64) - ((1 << 64) % span)
        while True:
            x = self._next64()
            if x < limit:
                return lo + x % span

    def choice(self, seq: Sequence[T]) -> T:
        return seq[self.randint(0, len(seq) - 1)]

    def shuffle(self, items: list[Any]) -> None:
        for i in range(len(items) - 1, 0, -1):
            j = self.randint(0, i)
            items[i], items[j] = items[j], items[i]
