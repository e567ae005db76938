"""`matchday restore` into a new database: the dump of `public` creates `public`, which the new
database already has; that one entry (and its comment) is left out of the restore list."""

from __future__ import annotations

from models.backup import without_existing_schemas

# As `pg_restore --list` prints a dump of the `public` schema (PostgreSQL 15).
LISTING = """\
;
; Archive created at 2026-12-03 13:39:40 UTC
;     dbname: matchday
;
; Selected TOC Entries:
;
5; 2615 2200 SCHEMA - public postgres
3420; 0 0 COMMENT - SCHEMA public postgres
215; 1259 16390 TABLE public users postgres
216; 1259 16399 TABLE public events postgres
3411; 0 16390 TABLE DATA public users postgres
"""


def test_an_existing_schema_is_not_created_again() -> None:
    kept = without_existing_schemas(LISTING, {"public", "pg_catalog"})
    assert "SCHEMA - public" not in kept
    assert "COMMENT - SCHEMA public" not in kept
    assert "TABLE public users" in kept and "TABLE DATA public users" in kept
    assert "TABLE public events" in kept


def test_a_schema_the_target_lacks_is_created() -> None:
    kept = without_existing_schemas(LISTING, {"pg_catalog"})
    assert kept == LISTING


def test_only_the_exact_schema_name_matches() -> None:
    listing = "7; 2615 16384 SCHEMA - public2 postgres\n"
    assert without_existing_schemas(listing, {"public"}) == listing
