"""`matchday` command: serve, migrate, create-admin, demo, settings."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from config.data_dir import DataDirUnusable, ensure_data_dir
from config.logging import configure_logging
from config.settings import ConfigError, Settings, load_settings, settings_table
from server.graceful import DrainingHTTPServer
from server.supervisor import run_workers

if TYPE_CHECKING:
    from server.app import MatchdayApp

log = logging.getLogger("matchday")
# Commands that open the embedded SQLite database under DATA_DIR.
NEEDS_DATA_DIR = frozenset({"serve", "migrate", "demo", "create-admin"})
# While draining, how often to look for streams that subscribed after the goodbye.
STREAM_RECHECK_SECONDS = 0.25


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="matchday", description="Matchday league backend")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the API")
    serve.add_argument("--host", help="address to bind (default: HOST)")
    serve.add_argument("--port", type=int, help="port to bind (default: PORT)")
    serve.add_argument("--processes", type=int, default=1, help="processes; 0 = one per core")
    serve.add_argument("--certfile", help="PEM certificate chain: serve HTTPS (TLS_CERTFILE)")
    serve.add_argument("--keyfile", help="PEM private key of --certfile (TLS_KEYFILE)")
    serve.add_argument(
        "--redirect-http-port",
        type=int,
        help="with TLS, also redirect plain HTTP on this port to HTTPS (TLS_REDIRECT_PORT)",
    )
    worker = commands.add_parser("worker", help="a Celery worker (production mode)")
    worker.add_argument("--queues", default="standings,analytics,audit", help="comma-separated")
    worker.add_argument("--concurrency", type=int, default=None, help="processes (default: cores)")
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("--hostname", default=None, help="node name (default: matchday@host)")
    commands.add_parser("beat", help="the Celery beat scheduler (periodic reconcile)")
    flower = commands.add_parser("flower", help="Flower, the Celery dashboard (+ /metrics)")
    flower.add_argument("--port", type=int, default=5555)
    flower.add_argument("--address", default="127.0.0.1")
    commands.add_parser("migrate", help="apply database migrations (alembic upgrade head)")
    admin = commands.add_parser("create-admin", help="create or promote an admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--display-name", default="Admin")
    commands.add_parser("demo", help="load a demo league (skipped if already loaded)")
    commands.add_parser("settings", help="print the configuration table (Markdown)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "settings":
        print(settings_table())
        return 0
    try:
        settings = load_settings()
        if args.command in NEEDS_DATA_DIR and settings.embedded:
            ensure_data_dir(settings.data_dir)  # the SQLite file goes there
    except (ConfigError, DataDirUnusable) as exc:
        print(f"matchday: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    return COMMANDS[args.command](settings, args)


def _celery_main(settings: Settings, argv: list[str]) -> int:
    from server.dispatch import make_celery

    if not settings.uses_redis:
        print("matchday: Celery needs REDIS_URL (the broker)", file=sys.stderr)
        return 2
    make_celery(settings).start(argv)  # Celery's own command line; exits when done
    return 0


def _worker(settings: Settings, args: argparse.Namespace) -> int:
    argv = [
        "worker",
        "--queues",
        args.queues,
        "--pool",
        args.pool,
        "--loglevel",
        settings.log_level,
    ]
    if args.concurrency:
        argv += ["--concurrency", str(args.concurrency)]
    if args.hostname:
        argv += ["--hostname", args.hostname]
    from server.dispatch import run_worker  # Celery in a child, restarted if it dies

    return run_worker(settings, argv)


def _beat(settings: Settings, _args: argparse.Namespace) -> int:
    schedule = settings.data_dir / "celerybeat-schedule"
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return _celery_main(
        settings, ["beat", "--loglevel", settings.log_level, "--schedule", str(schedule)]
    )


def _flower(settings: Settings, args: argparse.Namespace) -> int:
    # Flower serves its Prometheus metrics at /metrics on the same port.
    return _celery_main(settings, ["flower", f"--port={args.port}", f"--address={args.address}"])


def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from models.migrate import upgrade

    upgrade(settings.database_url)
    print("database is at the newest migration")
    return 0


def _create_admin(settings: Settings, args: argparse.Namespace) -> int:
    from models.migrate import upgrade
    from server.admin_cli import create_admin

    if settings.embedded:  # as serve and demo do: a fresh embedded database has no tables
        upgrade(settings.database_url)
    try:
        created = create_admin(settings, args.email, args.password, args.display_name)
    except ValueError as exc:
        print(f"matchday: {exc}", file=sys.stderr)
        return 2
    print(f"{'created' if created else 'promoted'} admin {args.email}")
    return 0


def _demo(settings: Settings, _args: argparse.Namespace) -> int:
    from models.migrate import upgrade
    from server.demo import load_demo

    if settings.embedded:
        upgrade(settings.database_url)
    print(load_demo(settings))
    return 0


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    host = args.host or settings.host
    port = args.port if args.port is not None else settings.port
    try:
        tls, redirect_port = _tls_options(settings, args)
    except (ConfigError, OSError) as exc:  # ssl.SSLError is an OSError
        print(f"matchday: TLS: {exc}", file=sys.stderr)
        return 2
    if settings.embedded:
        from models.migrate import upgrade

        upgrade(settings.database_url)
    if args.processes != 1 and not settings.uses_redis and settings.read_cache_events:
        # Without Redis no process learns of another's changes: every read goes to the database.
        print("matchday: several processes without REDIS_URL: read cache off", file=sys.stderr)
        settings = dataclasses.replace(settings, read_cache_events=0)
    sockets = bind_sockets(port, host)
    redirect_sockets = bind_sockets(redirect_port, host) if redirect_port else []

    def child() -> None:
        asyncio.run(_run_server(settings, sockets, host, port, tls, redirect_sockets))

    if args.processes == 1:
        child()
        return 0
    # The parent never returns from here; it closes its copy of the sockets when stopping, so
    # new connections are refused rather than queued while the workers drain.
    run_workers(args.processes, child, listeners=[*sockets, *redirect_sockets])
    return 0


def _tls_options(settings: Settings, args: argparse.Namespace) -> tuple[ssl.SSLContext | None, int]:
    """The server's SSLContext (None: plain HTTP) and the redirect port (0: none)."""
    from server.tls import server_context

    certfile = args.certfile or settings.tls_certfile
    keyfile = args.keyfile or settings.tls_keyfile
    redirect_port = (
        args.redirect_http_port
        if args.redirect_http_port is not None
        else settings.tls_redirect_port
    )
    if bool(certfile) != bool(keyfile):
        raise ConfigError("--certfile and --keyfile (TLS_CERTFILE, TLS_KEYFILE) go together")
    if not certfile:
        if redirect_port:
            raise ConfigError("redirecting plain HTTP needs --certfile and --keyfile")
        return None, 0
    if not 0 <= redirect_port < 65536:
        raise ConfigError("--redirect-http-port: must be a port, or 0 for off")
    return server_context(certfile, keyfile), redirect_port


async def _run_server(
    settings: Settings,
    sockets: list[socket.socket],
    host: str,
    port: int,
    tls: ssl.SSLContext | None = None,
    redirect_sockets: list[socket.socket] | None = None,
) -> None:
    from server.app import make_app
    from server.tls import redirect_app

    app = await make_app(settings)  # its access log: a deliberate 503 is a WARNING (base.py)
    # Each request's body limit is its route's, applied by the app before the body is read
    # (server/body_limit.py); Tornado's max_body_size below is only its fallback.
    server = DrainingHTTPServer(
        app, max_body_size=settings.max_json_body_bytes * 2, xheaders=False, ssl_options=tls
    )
    server.add_sockets(sockets)
    redirector: HTTPServer | None = None
    if redirect_sockets:
        redirector = HTTPServer(redirect_app(port), xheaders=False)
        redirector.add_sockets(redirect_sockets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    scheme = "https" if tls else "http"
    log.info("serving", extra={"url": f"{scheme}://{host}:{port}", "embedded": settings.embedded})
    await stop.wait()
    if redirector is not None:
        redirector.stop()
    await _drain(app, server)


async def _drain(app: MatchdayApp, server: DrainingHTTPServer) -> None:
    """SIGTERM: stop accepting (new connections are refused and go to another instance),
    readiness turns 503, open streams are told to reconnect elsewhere, requests in flight get
    their response, then connections close and queued work finishes; all within
    DRAIN_SECONDS (docs/live.md, "Shutdown")."""
    started = time.monotonic()
    app.draining = True
    server.stop()
    server.finish_requests()  # idle keep-alive connections close now, the others when answered
    deadline = asyncio.get_running_loop().time() + app.config.drain_seconds
    try:
        async with asyncio.timeout_at(deadline):
            await _requests_answered(app, server)
    except TimeoutError:
        log.warning(
            "drain: %d request(s) still unanswered after %ss; closing them",
            server.busy,
            app.config.drain_seconds,
        )
    await server.close_all_connections()  # only unanswered ones are left, if any
    try:
        async with asyncio.timeout_at(deadline):
            await app.close()
    except TimeoutError:
        log.warning("drain took longer than %ss; exiting anyway", app.config.drain_seconds)
    log.info("stopped", extra={"drain_seconds": round(time.monotonic() - started, 3)})


async def _requests_answered(app: MatchdayApp, server: DrainingHTTPServer) -> None:
    """Until every request has its response. Streams are ended by the hub; saying goodbye
    again catches a stream admitted just before the drain that subscribed only since."""
    while server.busy:
        app.hub.drain()  # idempotent: a stream already told is not told twice
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.quieted(), STREAM_RECHECK_SECONDS)


COMMANDS = {
    "serve": _serve,
    "worker": _worker,
    "beat": _beat,
    "flower": _flower,
    "migrate": _migrate,
    "create-admin": _create_admin,
    "demo": _demo,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
