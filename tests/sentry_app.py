"""Test-only: `python -m tests.sentry_app PORT` serves Matchday as `matchday serve` does (the
settings from the environment, Sentry and tracing set up when configured) plus one route that
fails with an unhandled error, which no production route does on purpose."""

from __future__ import annotations

import asyncio
import sys

from tornado.httpserver import HTTPServer

from config.errors import setup_sentry
from config.logging import configure_logging
from config.settings import load_settings
from config.telemetry import setup_tracing
from models.migrate import upgrade
from server.app import make_app
from server.base import BaseHandler


class BrokenHandler(BaseHandler):
    public_methods = frozenset({"GET"})

    async def get(self) -> None:
        raise RuntimeError("the scoreboard exploded")


async def main(port: int) -> None:
    settings = load_settings()
    configure_logging(settings.log_level, settings.log_format)
    setup_sentry(settings, "api")
    setup_tracing(settings, "api")
    if settings.embedded:
        upgrade(settings.database_url)
    app = await make_app(settings)
    app.add_handlers(r".*", [(r"/test/broken", BrokenHandler)])
    HTTPServer(app).listen(port, "127.0.0.1")
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
