"""The baseline of the read benchmarks: a bare Tornado handler returning a fixed 2 KB JSON body
from memory, served by the same process model as `matchday serve --processes N` (the sockets
bound first, then N forked workers under server/supervisor.py).

    .venv/bin/python tests/perf/bare_server.py --port 8100 --processes 2

Every path answers the same body, so the load generator points at it as it does at Matchday.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

import tornado.web
from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from server.supervisor import run_workers

BODY_BYTES = 2048


def body(size: int = BODY_BYTES) -> bytes:
    """A JSON object of exactly `size` bytes, shaped like a small list response."""
    items = [{"id": i, "name": f"Team {i:02d}", "points": 3 * i} for i in range(20)]
    text = json.dumps({"items": items, "padding": ""}, separators=(",", ":"))
    return text.replace('"padding":""', '"padding":"' + "x" * (size - len(text)) + '"')


class Fixed(tornado.web.RequestHandler):
    BODY = body()

    def get(self, *_args: str) -> None:
        self.set_header("Content-Type", "application/json")
        self.write(self.BODY)


async def serve(sockets: list) -> None:
    app = tornado.web.Application([(r"/(.*)", Fixed)])
    HTTPServer(app, xheaders=False).add_sockets(sockets)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument(
        "--body-bytes",
        type=int,
        default=BODY_BYTES,
        help="the body's size (what a larger body alone costs: docs/performance.md)",
    )
    args = parser.parse_args()
    Fixed.BODY = body(args.body_bytes)
    assert len(Fixed.BODY) == args.body_bytes
    sockets = bind_sockets(args.port, args.host)

    def child() -> None:
        asyncio.run(serve(sockets))

    if args.processes == 1:
        child()
    else:
        run_workers(args.processes, child, listeners=sockets)


if __name__ == "__main__":
    main()
