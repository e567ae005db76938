"""One bounded runner for every blocking call (bcrypt, sync clients), off the event loop."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")
log = logging.getLogger("matchday.blocking")
SLOW_CALL_SECONDS = 1.0


class BlockingRunner:
    def __init__(self, max_workers: int, name: str = "matchday-blocking") -> None:
        self.executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix=name)

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            # The caller's context (its request id in log lines) goes along into the thread.
            context = contextvars.copy_context()
            return await loop.run_in_executor(
                self.executor, lambda: context.run(fn, *args, **kwargs)
            )
        finally:
            elapsed = time.perf_counter() - started
            if elapsed > SLOW_CALL_SECONDS:
                log.warning("slow blocking call", extra={"call": fn.__name__, "seconds": elapsed})

    def shutdown(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
