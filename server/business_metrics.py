"""Business metrics, read from the audit entries of a committed unit of work: every change a
user makes is audited, so counting them here counts each change once, and only once it has
committed (a rolled-back score is not a score)."""

from __future__ import annotations

from collections.abc import Iterable

from models.audit_entries import AuditRecord
from server import metrics


def count_committed(records: Iterable[AuditRecord]) -> None:
    for record in records:
        action = record.get("action")
        if action == "game.score":
            metrics.SCORES_RECORDED.inc()
            details = record.get("details") or {}
            if details.get("new", {}).get("status") == "final":
                metrics.GAMES_FINISHED.inc()  # apply_score refuses final -> final
        elif action == "game.correct":
            metrics.CORRECTIONS.inc()
        elif action == "event.create":
            metrics.EVENTS_CREATED.inc()
