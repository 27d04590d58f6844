"""A micro-batcher: concurrent `score` calls from many problems become one model forward pass.

The runner runs hundreds of strategy coroutines on one event loop; each asks the verifier about
its own few candidates. Scoring those one request at a time would leave a PRM mostly idle, so
requests are collected until the loop has nothing else ready (a few zero-length yields) or a
short window passes or the batch is full, and then scored together in a worker thread (so the
event loop, and the policy engine's output handling, keep running during the forward pass).
"""

from __future__ import annotations

import asyncio
from typing import Callable, Generic, TypeVar

Item = TypeVar("Item")
Out = TypeVar("Out")


class MicroBatcher(Generic[Item, Out]):
    def __init__(self, fn: Callable[[list[Item]], list[Out]], max_batch: int = 64, max_wait_s: float = 0.005,
                 idle_yields: int = 3) -> None:
        self.fn = fn  # synchronous batch function, run in a thread
        self.max_batch = max_batch
        self.max_wait_s = max_wait_s
        self.idle_yields = idle_yields
        self._pending: list[tuple[Item, asyncio.Future[Out]]] = []
        self._flusher: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._full: asyncio.Event | None = None
        self.batches: list[int] = []  # sizes of the batches scored, for tests and stats

    async def submit(self, items: list[Item]) -> list[Out]:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # asyncio primitives belong to one loop; tests run several
            self._loop, self._full, self._pending, self._flusher = loop, asyncio.Event(), [], None
        assert self._full is not None
        futures = [loop.create_future() for _ in items]
        self._pending.extend(zip(items, futures))
        if len(self._pending) >= self.max_batch:
            self._full.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush_soon())
        return list(await asyncio.gather(*futures))

    async def _flush_soon(self) -> None:
        assert self._full is not None
        for _ in range(self.idle_yields):  # let every coroutine that is ready enqueue its request
            await asyncio.sleep(0)
        if len(self._pending) < self.max_batch and self.max_wait_s > 0:
            self._full.clear()
            try:
                await asyncio.wait_for(self._full.wait(), self.max_wait_s)
            except asyncio.TimeoutError:
                pass
        while self._pending:  # requests that arrive during a forward pass join the next batch
            batch, self._pending = self._pending[: self.max_batch], self._pending[self.max_batch:]
            self.batches.append(len(batch))
            try:
                outs = await asyncio.to_thread(self.fn, [item for item, _ in batch])
            except Exception as e:  # noqa: BLE001 - whatever failed, every waiter learns of it and none hangs
                for _, f in batch:
                    if not f.done():
                        f.set_exception(e)
                continue
            for (_, f), out in zip(batch, outs):
                if not f.done():
                    f.set_result(out)
