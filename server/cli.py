"""`matchday` command: serve, migrate, create-admin, demo, settings, smoke."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import socket
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets

from config.data_dir import DataDirUnusable, ensure_data_dir
from config.errors import setup_sentry
from config.logging import configure_logging
from config.pools import pool_share
from config.prometheus import forget_own_files, prepare_multiprocess, process_exited
from config.settings import ConfigError, Settings, load_settings, settings_table
from config.telemetry import setup_tracing, shutdown_tracing
from server.graceful import DrainingHTTPServer
from server.supervisor import run_workers

if TYPE_CHECKING:
    from server.app import MatchdayApp

log = logging.getLogger("matchday")
# Commands that open the embedded SQLite database under DATA_DIR.
NEEDS_DATA_DIR = frozenset({"serve", "migrate", "demo", "create-admin", "restore"})
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
    worker.add_argument(
        "--queues", default="standings,analytics,audit,webhooks", help="comma-separated"
    )
    worker.add_argument("--concurrency", type=int, default=None, help="processes (default: cores)")
    worker.add_argument("--pool", default="prefork", choices=["prefork", "solo", "threads"])
    worker.add_argument("--hostname", default=None, help="node name (default: matchday@host)")
    worker.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve the worker's Prometheus metrics on this port (default: METRICS_PORT; "
        "0: not served)",
    )
    worker.add_argument("--metrics-host", default=None, help="its address (default: HOST)")
    commands.add_parser("beat", help="the Celery beat scheduler (periodic reconcile)")
    flower = commands.add_parser("flower", help="Flower, the Celery dashboard (+ /metrics)")
    flower.add_argument("--port", type=int, default=5555)
    flower.add_argument("--address", default="127.0.0.1")
    flower.add_argument(
        "--insecure-no-auth",
        action="store_true",
        help="development only: serve Flower without FLOWER_BASIC_AUTH or FLOWER_AUTH",
    )
    migrate = commands.add_parser(
        "migrate", help="apply database migrations (one at a time: an advisory lock)"
    )
    migrate.add_argument(
        "--rollback-to", metavar="REV", help="roll back to migration REV (e.g. 0004) instead"
    )
    backup = commands.add_parser("backup", help="dump the database (pg_dump custom format)")
    backup.add_argument("--dir", required=True, type=Path, help="where dumps are kept")
    backup.add_argument("--keep", type=int, default=14, help="newest dumps kept (default 14)")
    restore = commands.add_parser("restore", help="restore a dump into an empty DATABASE_URL")
    restore.add_argument("dump", type=Path, help="a file `matchday backup` wrote")
    db = commands.add_parser("db", help="database inspection")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    top = db_commands.add_parser("top-queries", help="costliest statements (pg_stat_statements)")
    top.add_argument("--limit", type=int, default=10)
    top.add_argument("--json", action="store_true", help="JSON lines instead of a table")
    admin = commands.add_parser("create-admin", help="create or promote an admin")
    admin.add_argument("--email", required=True)
    admin.add_argument("--password", required=True)
    admin.add_argument("--display-name", default="Admin")
    commands.add_parser("demo", help="load a demo league (skipped if already loaded)")
    commands.add_parser("settings", help="print the configuration table (Markdown)")
    smoke = commands.add_parser("smoke", help="check a running deployment (server/smoke.py)")
    smoke.add_argument("url", help="the deployment's base URL, e.g. https://matchday.example.com")
    smoke.add_argument("--timeout", type=float, default=10.0, help="seconds per check")
    smoke.add_argument("--event-id", type=int, help="stream this event (default: a public one)")
    smoke.add_argument("--email", help="a test account: also check a write and its live events")
    smoke.add_argument(
        "--password",
        default=os.environ.get("MATCHDAY_SMOKE_PASSWORD"),
        help="the test account's password (default: MATCHDAY_SMOKE_PASSWORD)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "settings":
        print(settings_table())
        return 0
    if args.command == "smoke":  # a client of a deployment: none of this process' settings
        from server.smoke import Options, run_smoke

        options = Options(args.url, args.timeout, args.event_id, args.email, args.password)
        try:
            return run_smoke(options)
        except ValueError as exc:  # not an http(s) URL
            print(f"matchday smoke: {exc}", file=sys.stderr)
            return 2
    try:
        settings = load_settings()
        if args.command in NEEDS_DATA_DIR and settings.embedded:
            ensure_data_dir(settings.data_dir)  # the SQLite file goes there
    except (ConfigError, DataDirUnusable) as exc:
        print(f"matchday: configuration error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    from models.migration_errors import MigrationRefused

    try:
        return COMMANDS[args.command](settings, args)
    except MigrationRefused as exc:  # also on the embedded start-up's own migration
        print(f"matchday: migration refused: {exc}", file=sys.stderr)
        return 3


def _celery_main(settings: Settings, argv: list[str]) -> int:
    """Celery's own command line for our app; its exit status (a beat or Flower that fails
    to start exits non-zero)."""
    from server.dispatch import celery_main, make_celery

    if not settings.uses_redis:
        print("matchday: Celery needs REDIS_URL (the broker)", file=sys.stderr)
        return 2
    try:
        return celery_main(make_celery(settings), argv)
    except OSError as exc:  # a port in use, a schedule file that cannot be written
        print(f"matchday: {argv[0]}: {exc}", file=sys.stderr)
        return 1


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
    args.metrics_port = worker_metrics_port(args.metrics_port, settings)
    if args.metrics_port:
        # Before prometheus_client is imported: the Celery processes forked from here on
        # write their metrics to this run's directory, summed by one scrape.
        metrics_dir = prepare_multiprocess("matchday-worker-metrics-")
        try:
            return _run_worker(settings, argv, args)
        finally:
            metrics_dir.remove()  # in the parent only
    return _run_worker(settings, argv, args)


def worker_metrics_port(option: int | None, settings: Settings) -> int:
    """`--metrics-port`, else METRICS_PORT (a worker has no API port to share it with)."""
    return settings.metrics_port if option is None else option


def _run_worker(settings: Settings, argv: list[str], args: argparse.Namespace) -> int:
    from server.dispatch import run_worker, start_worker_metrics

    if args.metrics_port and settings.uses_redis:
        start_worker_metrics(settings, args.metrics_host or settings.host, args.metrics_port)
    return run_worker(settings, argv)  # Celery in a child, restarted if it dies


def _beat(settings: Settings, _args: argparse.Namespace) -> int:
    schedule = settings.data_dir / "celerybeat-schedule"
    try:
        ensure_data_dir(settings.data_dir)  # the schedule file goes there
    except DataDirUnusable as exc:
        print(f"matchday: configuration error: {exc}", file=sys.stderr)
        return 2
    setup_sentry(settings, "beat")
    provider = setup_tracing(settings, "beat")
    try:
        return _celery_main(
            settings, ["beat", "--loglevel", settings.log_level, "--schedule", str(schedule)]
        )
    finally:
        shutdown_tracing(provider)


def _flower(settings: Settings, args: argparse.Namespace) -> int:
    from server.flower import FlowerAuthMissing, flower_argv

    try:
        argv = flower_argv(settings, args.port, args.address, insecure=args.insecure_no_auth)
    except FlowerAuthMissing as exc:
        print(f"matchday: {exc}", file=sys.stderr)
        return 2
    # Flower serves its Prometheus metrics at /metrics on the same port (behind the same auth).
    return _celery_main(settings, argv)


def _migrate(settings: Settings, args: argparse.Namespace) -> int:
    from models.migrate import current_revision, downgrade, upgrade

    if args.rollback_to:
        downgrade(settings.database_url, args.rollback_to)
        print(f"database rolled back to migration {current_revision(settings.database_url)}")
        return 0
    upgrade(settings.database_url)
    print(f"database is at the newest migration ({current_revision(settings.database_url)})")
    return 0


def _backup(settings: Settings, args: argparse.Namespace) -> int:
    from models.backup import BackupError, backup

    if args.keep < 1:
        print("matchday: --keep must be at least 1", file=sys.stderr)
        return 2
    try:
        path = backup(settings.database_url, args.dir, keep=args.keep)
    except BackupError as exc:
        print(f"matchday: backup failed: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


def _restore(settings: Settings, args: argparse.Namespace) -> int:
    from models.backup import BackupError, restore

    try:
        restore(args.dump, settings.database_url)
    except BackupError as exc:
        print(f"matchday: restore failed (nothing was restored): {exc}", file=sys.stderr)
        return 1
    print(f"restored {args.dump}")
    return 0


def _db(settings: Settings, args: argparse.Namespace) -> int:
    import dataclasses
    import json

    from models.top_queries import StatementsUnavailable, as_table, top_queries

    try:
        stats = top_queries(settings.database_url, args.limit)
    except StatementsUnavailable as exc:
        print(f"matchday: {exc}", file=sys.stderr)
        return 2
    if args.json:
        for each in stats:
            print(json.dumps(dataclasses.asdict(each)))
    else:
        print(as_table(stats))
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
    if args.processes != 1:
        # Before anything imports prometheus_client: every process then writes its metrics
        # to this run's directory, and a scrape of any one serves their sum.
        metrics_dir = prepare_multiprocess("matchday-metrics-")
        try:
            return _bind_and_serve(settings, args, host, port, tls, redirect_port)
        finally:
            metrics_dir.remove()  # in the parent only
    return _bind_and_serve(settings, args, host, port, tls, redirect_port)


def _bind_and_serve(
    settings: Settings,
    args: argparse.Namespace,
    host: str,
    port: int,
    tls: ssl.SSLContext | None,
    redirect_port: int,
) -> int:
    if settings.embedded:
        from models.migrate import upgrade

        upgrade(settings.database_url)
    # Each process has its own pool: together they stay within the host's share of PostgreSQL.
    processes = args.processes or os.cpu_count() or 1
    settings = pool_share(settings, processes)
    if args.processes != 1 and not settings.uses_redis and settings.read_cache_events:
        # Without Redis no process learns of another's changes: every read goes to the database.
        print("matchday: several processes without REDIS_URL: read cache off", file=sys.stderr)
        settings = dataclasses.replace(settings, read_cache_events=0)
    sockets = bind_sockets(port, host)
    redirect_sockets = bind_sockets(redirect_port, host) if redirect_port else []
    metrics_sockets = bind_sockets(settings.metrics_port, host) if settings.metrics_port else []

    def child() -> None:
        # In each serving process (after the fork): exporter and Sentry threads are its own.
        setup_sentry(settings, "api")
        provider = setup_tracing(settings, "api")
        try:
            asyncio.run(
                _run_server(settings, sockets, host, port, tls, redirect_sockets, metrics_sockets)
            )
        finally:
            shutdown_tracing(provider)

    if args.processes == 1:
        child()
        return 0
    # Import the application once, here: each child (and each replacement of one that died)
    # then starts from the parent's copy instead of importing it again, which took 5-40 s on
    # a loaded 2-core machine. Importing starts nothing (no loop, thread or connection).
    import server.app  # noqa: F401

    forget_own_files()  # the parent's metric files, made by that import: it serves nothing

    # The parent never returns from here; it closes its copy of the sockets when stopping, so
    # new connections are refused rather than queued while the workers drain.
    run_workers(
        args.processes,
        child,
        listeners=[*sockets, *redirect_sockets, *metrics_sockets],
        on_child_exit=process_exited,
    )
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
    metrics_sockets: list[socket.socket] | None = None,
) -> None:
    from server.app import make_app
    from server.metrics_port import MetricsApp
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
    metrics_server: HTTPServer | None = None
    if metrics_sockets:
        metrics_server = HTTPServer(MetricsApp(app), xheaders=False)
        metrics_server.add_sockets(metrics_sockets)
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
    if metrics_server is not None:  # scrapes go on while the API drains
        metrics_server.stop()


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
    "backup": _backup,
    "restore": _restore,
    "db": _db,
    "create-admin": _create_admin,
    "demo": _demo,
}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
