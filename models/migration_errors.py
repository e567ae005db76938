"""The error `matchday migrate` (and the embedded start-up's migration) refuses with.

Its own module, importing nothing: the command line catches it around every command, and
importing models.migrate there would import prometheus_client (through models.db) before a
multi-process command has named its metrics directory, leaving every process's metrics in
memory where no scrape can sum them.
"""

from __future__ import annotations


class MigrationRefused(RuntimeError):
    """The database cannot be migrated by this code; the message says why, on one line."""
