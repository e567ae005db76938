"""The loop-lag monitor sees a stall of the loop it runs on."""

from __future__ import annotations

import asyncio
import time

from prometheus_client import REGISTRY

from server.loop_lag import LoopLagMonitor

LAG = "matchday_event_loop_lag_seconds"


def late_ticks() -> tuple[float, float]:
    """Ticks observed, and those later than 100 ms."""
    total = REGISTRY.get_sample_value(f"{LAG}_count") or 0.0
    return total, total - (REGISTRY.get_sample_value(f"{LAG}_bucket", {"le": "0.1"}) or 0.0)


async def test_a_stalled_loop_shows_as_lag() -> None:
    monitor = LoopLagMonitor(tick_seconds=0.01)
    monitor.start()
    try:
        await asyncio.sleep(0.05)
        ticks, late = late_ticks()
        time.sleep(0.25)  # holds the loop, as CPU work on it would
        await asyncio.sleep(0.05)
    finally:
        monitor.close()
    after, late_after = late_ticks()
    assert after > ticks
    assert late_after == late + 1  # one tick waited through the stall
    assert REGISTRY.get_sample_value("matchday_event_loop_lag_max_seconds") >= 0.24


async def test_close_stops_the_ticks() -> None:
    monitor = LoopLagMonitor(tick_seconds=0.001)
    monitor.start()
    await asyncio.sleep(0.01)
    monitor.close()
    ticks, _ = late_ticks()
    await asyncio.sleep(0.02)
    assert late_ticks()[0] == ticks
