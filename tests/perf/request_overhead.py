"""What a Matchday request costs over a bare Tornado one, in this process, without wrk.

    .venv/bin/python tests/perf/request_overhead.py [--requests 500] [--runs 10]

Seeds PostgreSQL as read_paths_profile.py does, builds the application (PostgreSQL + Redis,
rate limits off, logs at INFO as JSON to /dev/null, metrics in multiprocess mode as under
`serve --processes 2`), and serves each path over a socket pair through the real HTTP/1
server: one keep-alive connection, one request at a time, the client on the same loop. CPU
is the loop thread's (`time.thread_time`), per request, for each of `--runs` runs of
`--requests`, alternating the bare handler (a fixed 2 KB JSON body, Tornado's own
HTTPServer), the cached standings and /healthz (Matchday's DrainingHTTPServer). The client's
share is the same in every row, so compare the differences to the bare row ("+"): they are
what Matchday adds per request. Less disturbed by a busy host than wrk runs, but not immune:
compare medians of runs made in the same sitting.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import socket
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

# Before anything imports prometheus_client: the mode `serve --processes N` runs in.
METRICS_DIR = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or tempfile.mkdtemp(
    prefix="request-overhead-"
)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = METRICS_DIR

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import tornado.iostream  # noqa: E402
import tornado.web  # noqa: E402
from tornado.httpserver import HTTPServer  # noqa: E402

from config.logging import configure_logging  # noqa: E402
from config.settings import load_settings  # noqa: E402
from tests.perf.bare_server import Fixed  # noqa: E402
from tests.perf.read_paths_profile import paths, seed  # noqa: E402
from tests.support import (  # noqa: E402
    REDIS_URL,
    TEST_SECRET,
    create_pg_schema,
    delete_redis_keys,
    drop_pg_schema,
    pg_schema_url,
)


async def client(sock: socket.socket, path: str, count: int, *, gzip: bool = False) -> None:
    """`count` keep-alive GETs, one at a time; each reply read to its last byte."""
    loop = asyncio.get_running_loop()
    accept = "Accept-Encoding: gzip\r\n" if gzip else ""
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: wrk\r\n{accept}\r\n".encode()
    buffered = b""
    for _ in range(count):
        await loop.sock_sendall(sock, request)
        while True:
            head, found, rest = buffered.partition(b"\r\n\r\n")
            if found:
                at = head.lower().find(b"content-length:")
                length = int(head[at + 15 :].split(b"\r\n", 1)[0]) if at >= 0 else 0
                if len(rest) >= length:
                    if not head.startswith(b"HTTP/1.1 200"):
                        raise SystemExit(f"{path}: {head[:200]!r}")
                    buffered = rest[length:]
                    break
            buffered += await loop.sock_recv(sock, 65536)


async def cpu_per_request(
    server_class: type[HTTPServer], app: Any, path: str, count: int, *, gzip: bool = False
) -> float:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    theirs.setblocking(False)
    server = server_class(app, xheaders=False)
    server.handle_stream(tornado.iostream.IOStream(ours), ("127.0.0.1", 5555))
    await client(theirs, path, 200, gzip=gzip)  # warm
    started = time.thread_time()
    await client(theirs, path, count, gzip=gzip)
    used = (time.thread_time() - started) / count * 1e6
    theirs.close()
    server.stop()
    return used


async def run(args: argparse.Namespace) -> dict[str, list[float]]:
    from server.app import make_app
    from server.graceful import DrainingHTTPServer

    schema = create_pg_schema()
    prefix = f"bench:{uuid.uuid4().hex[:8]}:"
    url = pg_schema_url(schema)
    try:
        ids = seed(url)
        configure_logging("INFO", "json")
        handler = logging.getLogger().handlers[0]
        assert isinstance(handler, logging.StreamHandler)  # configure_logging's one handler
        handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 (lives as long as the run)
        settings = {"DATABASE_URL": url, "JWT_SECRET": TEST_SECRET, "REDIS_URL": REDIS_URL}
        settings |= {"REDIS_KEY_PREFIX": prefix, "TASK_RUNNER": "local"}
        app = await make_app(load_settings({**settings, "RATE_LIMIT_ENABLED": "false"}))
        bare = tornado.web.Application([(r"/(.*)", Fixed)])
        targets = paths(ids["event"])
        names = args.paths.split(",")
        found: dict[str, list[float]] = {"bare": []} | {name: [] for name in names}
        for _ in range(args.runs):
            found["bare"].append(await cpu_per_request(HTTPServer, bare, "/", args.requests))
            for name in names:
                path, gzip = targets[name.removesuffix("+gzip")], name.endswith("+gzip")
                found[name].append(
                    await cpu_per_request(DrainingHTTPServer, app, path, args.requests, gzip=gzip)
                )
        await app.close()
        return found
    finally:
        await delete_redis_keys(prefix)
        drop_pg_schema(schema)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument(
        "--paths",
        default="standings,healthz",
        help="of standings,event,games,events,healthz; NAME+gzip asks for gzip",
    )
    try:
        found = asyncio.run(run(parser.parse_args()))
    finally:
        if Path(METRICS_DIR).name.startswith("request-overhead-"):  # ours, not the caller's
            shutil.rmtree(METRICS_DIR, ignore_errors=True)
    bare = statistics.median(found["bare"])
    for name, runs in found.items():
        median = statistics.median(runs)
        print(
            f"{name}: median {median:.1f} µs CPU/request (+{median - bare:.1f} over bare, "
            f"x{median / bare:.2f}); min {min(runs):.1f}"
        )


if __name__ == "__main__":
    main()
