"""An event loop in a thread of its own, for servers that must outlive one test's loop
(a module's receivers of traces and error reports)."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from typing import TypeVar

T = TypeVar("T")


@contextmanager
def loop_thread() -> Iterator[Callable[[Callable[[], AbstractContextManager[T]]], T]]:
    """`enter(factory)` enters the context manager `factory()` on the thread's loop (where
    Tornado servers it makes will run) and returns its value; all are exited at the end."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="test-receivers", daemon=True)
    thread.start()
    stack = ExitStack()

    def enter(factory: Callable[[], AbstractContextManager[T]]) -> T:
        done: concurrent.futures.Future[T] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: done.set_result(stack.enter_context(factory())))
        return done.result(timeout=10)

    try:
        yield enter
    finally:
        closed: concurrent.futures.Future[None] = concurrent.futures.Future()
        loop.call_soon_threadsafe(lambda: closed.set_result(stack.close()))
        closed.result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
