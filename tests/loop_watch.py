"""Watching a Matchday served in this process: is its event loop free while it works?

`LoopWatch` records, until it is closed, every GET /healthz latency seen by a blocking client
in its own thread (so the client never waits on the loop it measures), and how late a 5 ms
timer runs on the loop. Each sample also has a `net` figure, the part the server answers for
on a machine shared with other work:

- a poll's latency less the time threads spent runnable but waiting for a CPU (the kernel's
  run queue, /proc/self/task/<tid>/schedstat): the loop's and the poller's, and the longest
  of any other thread's here (one that holds the GIL while it waits stalls the loop too);
- a tick's lateness, but no more than the loop's thread ran meanwhile (its CPU time): code
  that holds the loop shows in full, a descheduled process does not.

Also the CSV files of a large import, and a blocking `send` for them.
"""

from __future__ import annotations

import asyncio
import http.client
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

HEADER = "kind,name,group,home,away,starts_at,venue,round,home_score,away_score,status"
PROBE_SECONDS = 0.005


def run_queue_seconds(tid: int) -> float:
    """How long the thread has been runnable but not running (0 where Linux does not say)."""
    try:
        return int(Path(f"/proc/self/task/{tid}/schedstat").read_text().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):  # not Linux, or the thread has ended
        return 0.0


def run_queue_waits() -> dict[int, float]:
    """`run_queue_seconds` of every thread of this process."""
    tasks = Path("/proc/self/task")
    tids = [int(entry.name) for entry in tasks.iterdir()] if tasks.exists() else []
    return {tid: run_queue_seconds(tid) for tid in tids}


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when it started
    raw: float  # seconds
    net: float  # the server's part (see the module's docstring)


@dataclass
class LoopWatch:
    base_url: str
    polls: list[Sample] = field(default_factory=list)
    ticks: list[Sample] = field(default_factory=list)

    async def __aenter__(self) -> LoopWatch:
        self._loop_tid = threading.get_native_id()
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll_healthz, name="healthz-poller")
        self._poller.start()
        self._probe = asyncio.get_running_loop().create_task(self._probe_loop())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._stop.set()
        await asyncio.to_thread(self._poller.join)  # not on the loop: the poller needs it
        await self._probe

    def _poll_healthz(self) -> None:
        url = urlsplit(self.base_url)
        connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=30)
        mine = (self._loop_tid, threading.get_native_id())
        while not self._stop.is_set():
            before = run_queue_waits()
            started = time.monotonic()
            connection.request("GET", "/healthz")
            reply = connection.getresponse()
            reply.read()
            latency = time.monotonic() - started
            waited = {tid: wait - before.get(tid, 0.0) for tid, wait in run_queue_waits().items()}
            others = max((wait for tid, wait in waited.items() if tid not in mine), default=0.0)
            machine = sum(waited.get(tid, 0.0) for tid in mine) + others
            assert reply.status == 200, reply.status
            self.polls.append(Sample(started, latency, latency - machine))
        connection.close()

    async def _probe_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._stop.is_set():
            started, ran = time.monotonic(), time.thread_time()
            due = loop.time() + PROBE_SECONDS
            await asyncio.sleep(PROBE_SECONDS)
            lag = max(0.0, loop.time() - due)
            self.ticks.append(Sample(started, lag, min(lag, time.thread_time() - ran)))

    @staticmethod
    def worst(samples: list[Sample], start: float = 0.0, end: float = float("inf")) -> Sample:
        """The sample with the largest `net` that started in [start, end)."""
        window = [sample for sample in samples if start <= sample.at < end]
        return max(window, key=lambda sample: sample.net, default=Sample(start, 0.0, 0.0))

    def describe(self, start: float = 0.0, end: float = float("inf")) -> str:
        parts = []
        for name, samples in (("healthz", self.polls), ("loop lag", self.ticks)):
            count = sum(1 for sample in samples if start <= sample.at < end)
            worst = self.worst(samples, start, end)
            raw = max((s.raw for s in samples if start <= s.at < end), default=0.0)
            parts.append(f"{name} max {raw * 1000:.0f} ms, net {worst.net * 1000:.0f} ms ({count})")
        return "; ".join(parts)


def teams_csv(teams: int) -> bytes:
    rows = [HEADER, *(f"team,Team {i:03d},,,,,,,,," for i in range(teams))]
    return ("\r\n".join(rows) + "\r\n").encode()


def games_csv(games: int, teams: int) -> bytes:
    """Games between `teams_csv`'s teams, every kind of row: final and live with scores (a
    third each), scheduled without; with and without venues; times with an offset, two hours
    apart so that the file keeps the default schedule rules (a 120-minute game)."""
    rows = [HEADER]
    first = datetime(2025, 6, 1, 10, 30, tzinfo=timezone(timedelta(hours=2)))
    for n in range(games):
        home = n % teams
        away = (home + 1 + n // teams) % teams
        away = (away + 1) % teams if away == home else away
        status, scores = (("final", f"{n % 5},{n % 3}"), ("live", "1,1"), ("scheduled", ","))[n % 3]
        when = (first + timedelta(hours=2 * n)).isoformat()
        venue = f'"Arena {n % 7}, North"' if n % 2 else ""
        rows.append(
            f"game,,,Team {home:03d},Team {away:03d},{when},{venue},{1 + n // 100},{scores},"
            f"{status}"
        )
    return ("\r\n".join(rows) + "\r\n").encode()


def send(base_url: str, method: str, path: str, token: str, body: bytes | None = None) -> bytes:
    """One request with a blocking client (call it in a thread). The reply is kept as bytes:
    decoding a large one holds the interpreter, and so the server's loop, while it runs."""
    url = urlsplit(base_url)
    connection = http.client.HTTPConnection(url.hostname or "", url.port, timeout=60)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/csv; charset=utf-8"}
    connection.request(method, path, body=body, headers=headers)
    reply = connection.getresponse()
    data = reply.read()
    connection.close()
    assert reply.status in (200, 201), (reply.status, data[:1000])
    return data
