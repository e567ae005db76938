"""The blocking runner carries the caller's context into its threads."""

from __future__ import annotations

from config.logging import log_context
from server.blocking import BlockingRunner


async def test_a_blocking_call_sees_the_callers_log_context() -> None:
    runner = BlockingRunner(1)
    token = log_context.set({"request_id": "req-in-thread"})
    try:
        seen = await runner.run(log_context.get)
    finally:
        log_context.reset(token)
        runner.shutdown()

    assert seen == {"request_id": "req-in-thread"}
