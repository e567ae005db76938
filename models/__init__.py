"""SQLAlchemy models (importing this registers every table on ``Base.metadata``)."""

from models.audit import AuditEntry, IdempotencyRecord
from models.base import Base
from models.calendar import CalendarToken
from models.events import Event, Scorekeeper, Team
from models.games import Game, StandingsSnapshot
from models.intents import PendingAudit, PendingRecompute
from models.outbox import OutboxEntry
from models.users import RevokedToken, TokenFamily, User
from models.webhooks import WebhookDelivery, WebhookSubscription

__all__ = [
    "AuditEntry",
    "Base",
    "CalendarToken",
    "Event",
    "Game",
    "IdempotencyRecord",
    "OutboxEntry",
    "PendingAudit",
    "PendingRecompute",
    "RevokedToken",
    "Scorekeeper",
    "StandingsSnapshot",
    "Team",
    "TokenFamily",
    "User",
    "WebhookDelivery",
    "WebhookSubscription",
]
