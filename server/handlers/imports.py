"""CSV import and export of an event's teams and games (the format: docs/import.md)."""

from __future__ import annotations

from tornado.web import stream_request_body

from server.base import BaseHandler
from server.errors import ApiError
from server.openapi import ImportResultSchema, Op, text_reply
from server.policy import Need
from server.services import events as event_service
from server.services import imports
from server.services.csv_import import (
    RowError,
    decode_upload,
    error_details,
    parse_import,
    render_export,
)
from server.services.errors import DomainError

CSV = "text/csv"


def invalid_csv(errors: list[RowError]) -> ApiError:
    count = len(errors)
    return ApiError(
        422,
        f"the CSV file is not valid ({count} problem{'s' if count != 1 else ''}); "
        "nothing was imported",
        code="invalid_csv",
        details=error_details(errors),
    )


def _media_type(header: str) -> tuple[str, dict[str, str]]:
    kind, *params = header.split(";")
    parameters = {}
    for param in params:
        name, _, value = param.partition("=")
        parameters[name.strip().lower()] = value.strip().strip('"').lower()
    return kind.strip().lower(), parameters


@stream_request_body
class EventImportHandler(BaseHandler):
    """The body streams in under its own limit, MAX_UPLOAD_BYTES, not the JSON one.

    A declared Content-Length over the limit is refused before this handler runs, and a
    chunked body is ended as soon as it passes the limit (server/body_limit.py): then
    data_received sees the limit passed and post() answers 413. Other refusals found before
    the body is read (415, 401, rate limits) are answered once it is read: answering earlier
    makes Tornado close the connection under a client that is still sending, and such a client
    sees a reset instead of the answer. The refused body is read and dropped, never kept."""

    body_limit_setting = "max_upload_bytes"

    openapi = {
        "post": Op(
            operation_id="importCsv",
            summary="Import teams and games from CSV (owner, admin)",
            tag="events",
            responses={201: ImportResultSchema},
            body={
                "type": "string",
                "format": "binary",
                "description": "UTF-8 (an optional BOM), a header row, then `team` and `game` "
                "rows; the format is in docs/import.md",
            },
            body_type=CSV,
            errors=(403, 409),
            description="All or nothing: one invalid row and nothing is stored. 422 "
            "`invalid_csv` lists the problems in `details.errors` (`row`, the header being row "
            "1; `column`, or null for the whole row; `message`), at most 100, with "
            "`details.truncated`. 413 past `MAX_UPLOAD_BYTES` (default 5 MiB) or 10,000 rows "
            "(422). Answers the created teams and games; publishes a `game` event per game and "
            "recomputes the standings; audited as `import.run`.",
        )
    }

    async def prepare(self) -> None:
        self._limit = self.application.config.max_upload_bytes
        self._chunks: list[bytes] = []
        self._size = 0
        self._refusal: ApiError | DomainError | None = None
        try:
            await super().prepare()
        except (ApiError, DomainError) as exc:
            self._refusal = exc

    def _check_body(self) -> None:
        kind, parameters = _media_type(self.request.headers.get("Content-Type", ""))
        if kind != CSV:
            raise ApiError(415, "send the file as text/csv")
        if parameters.get("charset", "utf-8") not in ("utf-8", "utf8"):
            raise ApiError(415, "send the file as UTF-8 (text/csv; charset=utf-8)")

    def _too_large(self) -> ApiError:
        return ApiError(413, f"the file is larger than {self._limit} bytes (MAX_UPLOAD_BYTES)")

    def data_received(self, chunk: bytes) -> None:
        if self._refusal is not None:
            return
        self._size += len(chunk)
        if self._size > self._limit:
            self._chunks.clear()
            self._refusal = self._too_large()
            return
        self._chunks.append(chunk)

    async def post(self, event_id: str) -> None:
        if self._refusal is not None:
            raise self._refusal
        user = self.require_user()
        event_pk = self.path_id(event_id)
        async with self.db() as session:
            event = await event_service.load_event(session, event_pk, user, Need.MANAGE)
            context = await imports.import_context(session, event)
        text = decode_upload(b"".join(self._chunks))
        self._chunks.clear()
        if isinstance(text, list):
            raise invalid_csv(text)
        # Up to 10,000 rows of validation: off the event loop.
        plan = await self.application.blocking.run(
            parse_import, text, existing_teams=context.team_names, knockout=context.knockout
        )
        if isinstance(plan, list):
            raise invalid_csv(plan)
        blocking = self.application.blocking
        async with self.db() as session:
            try:
                stored = await imports.run_import(
                    session, event_pk, user, plan, self._size, blocking
                )
            except imports.PlanOutdated as exc:
                raise invalid_csv(exc.errors) from exc
        self.set_status(201)
        self.finish(stored.body)  # the JSON of up to 10,000 games, serialised off the loop


class EventExportHandler(BaseHandler):
    public_methods = frozenset({"GET"})
    openapi = {
        "get": Op(
            operation_id="exportCsv",
            summary="Export teams and games as CSV",
            tag="events",
            responses={
                200: text_reply(
                    CSV,
                    "`text/csv` in the import format: imports back unchanged. Cells a "
                    "spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab "
                    "or carriage return) are prefixed with `'`.",
                )
            },
        )
    }

    async def get(self, event_id: str) -> None:
        async with self.db() as session:
            event = await event_service.load_event(
                session, self.path_id(event_id), self.current_user, Need.VIEW
            )
            teams, games = await imports.export_rows(session, event)
        # Up to 10,000 rows of CSV: off the event loop.
        text = await self.application.blocking.run(render_export, teams, games)
        self.set_header("Content-Type", f"{CSV}; charset=UTF-8")
        self.set_header("Content-Disposition", f'attachment; filename="event-{event.id}.csv"')
        self.set_header("Cache-Control", "no-store")
        self.finish(text.encode("utf-8"))


routes = [
    (r"/api/v1/events/([0-9]+)/import", EventImportHandler),
    (r"/api/v1/events/([0-9]+)/export\.csv", EventExportHandler),
]
