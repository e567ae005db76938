"""Every statement a realistic workload runs, with its plan on a database of realistic size.

    .venv/bin/python tests/perf/explain_hot.py [--events 1000] [--drop-index NAME ...]

The driver starts a PostgreSQL of its own (temporary directory, another port, with
pg_stat_statements and auto_explain), migrates it, drops each --drop-index (the plans without
it: `--drop-index ix_users_email_lower` gives those before migration 0007_hot_query_indexes;
the server refuses a database that is not at the head, so no older revision), and fills it
with SQL: 5,000 users, --events events (one in ten private) of 20 teams with a round robin
each (190 games, about half final), 100 audit entries and a standings snapshot per event.
Then auto_explain is switched on (every statement's plan, with its real parameters, goes to
the server's JSON log) and one `matchday serve` (tasks in-process: the worker's statements run
there) gets what a match day asks of it over the REST API: sign-ups and sign-ins, reads of
every public path as spectator and owner, live and final scores by an owner and a
scorekeeper, a correction, a recompute, the audit list with its filters, an event update, a
live stream. Printed per distinct statement: calls and mean time (pg_stat_statements) and the
scans of its plan; a sequential scan of a table of more than 1,000 rows is flagged. JSON
(stdout), then one summary line. 127.0.0.1 only; bounded; the server and the database
directory are removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from models.migrate import upgrade
from tests.e2e.own_postgres import own_postgres
from tests.perf import harness
from tests.perf.harness import HOST, MATCHDAY, Rest, running_server, server_env

PG_SETTINGS = (
    "shared_preload_libraries=pg_stat_statements,auto_explain",
    # auto_explain.log_min_duration stays at its default (-1, off) until the seed is in; set
    # here on the command line it would outrank the ALTER SYSTEM that switches it on.
    "auto_explain.log_format=json",
    "logging_collector=on",
    "log_destination=jsonlog",
    "log_directory=log",
)
LARGE_TABLE_ROWS = 1_000
TEAMS = 20

SEED = [
    "INSERT INTO users (email, display_name, password_hash, role, created_at)"
    " SELECT 'fan' || i || '@example.com', 'Fan ' || i, 'x', 'user', now()"
    " FROM generate_series(1, 5000) i",
    "INSERT INTO events (name, visibility, scoring, tiebreakers, owner_id, created_at,"
    " updated_at) SELECT 'League ' || i, CASE WHEN i % 10 = 0 THEN 'private' ELSE 'public' END,"
    ' \'{"win": 3, "draw": 1, "loss": 0}\', \'["score_diff"]\', 1 + i % 5000, now(), now()'
    " FROM generate_series(1, :events) i",
    "INSERT INTO teams (event_id, name, created_at) SELECT e.id, 'Team ' || t, now()"
    " FROM events e, generate_series(1, 20) t ORDER BY e.id, t",
    "INSERT INTO games (event_id, home_team_id, away_team_id, home_score, away_score, status,"
    " version, round, created_at, updated_at)"
    " SELECT e.id, (e.id - 1) * 20 + i, (e.id - 1) * 20 + j,"
    " CASE WHEN (i + j) % 2 = 0 THEN (i * j) % 4 END, CASE WHEN (i + j) % 2 = 0 THEN j % 3 END,"
    " CASE WHEN (i + j) % 2 = 0 THEN 'final' ELSE 'scheduled' END, 1, 1 + (i + j) % 19, now(),"
    " now() FROM events e, generate_series(1, 20) i, generate_series(1, 20) j WHERE i < j",
    "INSERT INTO audit_entries (uid, at, actor_id, action, target_type, target_id, details)"
    " SELECT md5(e.id || '-' || k), now() - k * interval '1 minute', 1 + (e.id + k) % 5000,"
    " 'score.final', 'game', e.id * 190 + k, '{}' FROM events e, generate_series(1, 100) k",
    "INSERT INTO standings_snapshots (event_id, version, rows, updated_at)"
    " SELECT id, 1, '[]', now() FROM events",
    "ANALYZE",
]


def log(message: str) -> None:
    harness.log(message, "explain")


def seed(engine: sa.Engine, events: int) -> dict[str, int]:
    with engine.begin() as conn:
        for statement in SEED:
            conn.execute(sa.text(statement), {"events": events})
        rows = conn.execute(
            sa.text(
                "SELECT relname, reltuples::bigint FROM pg_class WHERE relkind = 'r'"
                " AND relnamespace = 'public'::regnamespace"
            )
        ).all()
    return {name: count for name, count in rows}


def workload(port: int, admin: tuple[str, str]) -> int:
    """What a match day asks of the API; the number of requests made."""
    calls = 0

    def get(rest: Rest, path: str) -> Any:
        nonlocal calls
        calls += 1
        return rest.expect(200, "GET", path)

    owner = Rest(port).sign_in("owner")
    event_id, team_ids = owner.league("Explain Cup", TEAMS, schedule="round_robin")
    games = get(owner, f"/api/v1/events/{event_id}/games?per_page=200")["items"]
    keeper = Rest(port).sign_in("keeper")
    keeper_id = keeper.expect(200, "GET", "/api/v1/me")["id"]
    owner.expect(201, "POST", f"/api/v1/events/{event_id}/scorekeepers", {"user_id": keeper_id})
    spectator = Rest(port)
    base = f"/api/v1/events/{event_id}"
    for client in (spectator, owner):
        for path in (
            "/api/v1/events",
            "/api/v1/events?page=40&per_page=50",
            base,
            f"{base}/teams?per_page=200",
            f"{base}/games?per_page=200",
            f"{base}/games?status=final",
            f"{base}/games?round=3",
            f"{base}/games?team_id={team_ids[3]}",
            f"{base}/standings",
            f"/api/v1/games/{games[0]['id']}",
            "/api/v1/events/7/standings",
        ):
            get(client, path)
    for number, game in enumerate(games[:30]):
        writer = keeper if number % 2 else owner
        body = {"home_score": 1, "away_score": 0, "status": "live"}
        writer.expect(200, "PUT", f"/api/v1/games/{game['id']}/score", body)
        body["status"] = "final"
        writer.expect(200, "PUT", f"/api/v1/games/{game['id']}/score", body)
        calls += 2
    administrator = Rest(port)
    login = {"email": admin[0], "password": admin[1]}
    administrator.token = administrator.expect(200, "POST", "/api/v1/auth/login", login)[
        "access_token"
    ]
    correction = {"home_score": 2, "away_score": 2, "reason": "explain: wrong scorer"}
    administrator.expect(
        200, "POST", f"/api/v1/admin/games/{games[0]['id']}/corrections", correction
    )
    administrator.expect(202, "POST", f"/api/v1/admin/events/{event_id}/recompute")
    since = "?since=2026-01-01T00:00:00Z"
    for query in ("", "?action=score.final", f"?actor_id={keeper_id}", since):
        get(administrator, f"/api/v1/admin/audit{query}")
    owner.expect(200, "PATCH", base, {"name": "Explain Cup (renamed)"})
    stream(port, event_id)
    calls += 6
    time.sleep(3)  # the in-process recomputes and the relay finish
    return calls


def stream(port: int, event_id: int) -> None:
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", f"/api/v1/events/{event_id}/stream", headers={"Last-Event-ID": "0"})
        reply = conn.getresponse()
        assert reply.status == 200, reply.status
    finally:
        conn.close()


def plans(log_dir: Path) -> dict[str, dict[str, Any]]:
    """Query text -> its first logged plan (auto_explain's JSON)."""
    found: dict[str, dict[str, Any]] = {}
    for path in sorted(log_dir.glob("*.json")):
        for line in path.read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError, KeyError):
                message = json.loads(line)["message"]
                if "plan:" not in message:
                    continue
                plan = json.loads(message.split("plan:", 1)[1])
                text = " ".join(plan["Query Text"].split())
                found.setdefault(text, plan["Plan"])
    return found


def scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    here = []
    if "Relation Name" in node:
        here.append(
            {
                "node": node["Node Type"],
                "table": node["Relation Name"],
                "index": node.get("Index Name"),
            }
        )
    for child in node.get("Plans", []):
        here += scans(child)
    return here


def statements(engine: sa.Engine) -> dict[str, dict[str, Any]]:
    query = sa.text(
        "SELECT query, calls, mean_exec_time FROM pg_stat_statements WHERE dbid = (SELECT oid"
        " FROM pg_database WHERE datname = current_database())"
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {
        " ".join(r.query.split()): {"calls": r.calls, "mean_ms": round(r.mean_exec_time, 3)}
        for r in rows
    }


def explain_all(engine: sa.Engine, on: bool) -> None:
    """auto_explain for every statement from now on (statistics start afresh), or off."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if on:
            conn.execute(sa.text("SELECT pg_stat_statements_reset()"))
        value = 0 if on else -1
        conn.execute(sa.text(f"ALTER SYSTEM SET auto_explain.log_min_duration = {value}"))
        conn.execute(sa.text("SELECT pg_reload_conf()"))
    time.sleep(0.5)  # the reload reaches every backend at its next statement


def measure(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    with own_postgres(*PG_SETTINGS) as postgres:
        engine = sa.create_engine(postgres.url)
        backend = harness.production_backend(workdir, database_url=postgres.url)
        try:
            upgrade(postgres.url)
            with engine.begin() as conn:
                conn.execute(sa.text("CREATE EXTENSION pg_stat_statements"))
                for name in args.drop_index:
                    conn.execute(sa.text(f'DROP INDEX "{name}"'))
            started = time.monotonic()
            sizes = seed(engine, args.events)
            log(f"seeded in {time.monotonic() - started:.1f}s: {sizes}")
            env = server_env(backend, TASK_RUNNER="local")
            admin = ("explain-admin@example.com", "explain admin passphrase 1")
            subprocess.run(
                [MATCHDAY, "create-admin", "--email", admin[0], "--password", admin[1]],
                env=env, check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            explain_all(engine, True)
            with running_server(env, workdir / "serve.log") as (_server, port):
                requests = workload(port, admin)
            explain_all(engine, False)
            stats = statements(engine)
            logged = plans(postgres.data / "log")
            if not logged:
                listing = sorted(p.name for p in (postgres.data / "log").glob("*"))
                raise RuntimeError(f"no plans in the server's log ({listing})")
        finally:
            engine.dispose()
            backend.cleanup()
    rows = []
    for text, plan in logged.items():
        found = scans(plan)
        large_seq = sorted(
            {
                s["table"]
                for s in found
                if s["node"] == "Seq Scan" and sizes.get(s["table"], 0) > LARGE_TABLE_ROWS
            }
        )
        figures = stats.get(text, {})
        rows.append(
            {
                "query": text[:200],
                "calls": figures.get("calls"),
                "mean_ms": figures.get("mean_ms"),
                "scans": [
                    f"{s['node']} {s['table']}" + (f" ({s['index']})" if s["index"] else "")
                    for s in found
                ],
                "seq_scan_of_large_table": large_seq,
            }
        )
    rows.sort(key=lambda r: (not r["seq_scan_of_large_table"], -(r["calls"] or 0)))
    return {
        "benchmark": "explain_hot",
        "dropped_indexes": args.drop_index,
        "table_rows": sizes,
        "requests": requests,
        "statements": rows,
    }


def summary_line(report: dict[str, Any]) -> str:
    flagged: dict[str, int] = defaultdict(int)
    for row in report["statements"]:
        for table in row["seq_scan_of_large_table"]:
            flagged[table] += 1
    tables = ", ".join(f"{t} ({n})" for t, n in sorted(flagged.items())) or "none"
    return (
        f"explain_hot (indexes dropped: {', '.join(report['dropped_indexes']) or 'none'}): "
        f"{len(report['statements'])} distinct "
        f"statements; sequential scans of tables over {LARGE_TABLE_ROWS} rows: {tables}"
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000, help="events of 190 games each")
    parser.add_argument(
        "--drop-index", action="append", default=[], help="drop this index after migrating"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    harness.report_run("explain", parse_args(argv), measure, summary_line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
