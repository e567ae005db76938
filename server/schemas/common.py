"""Pagination and the error body."""

from __future__ import annotations

from marshmallow import Schema, fields

from server.schemas.fields import bounded_int

MAX_PER_PAGE = 200


class PageQuerySchema(Schema):
    page = bounded_int(1, 1_000_000, strict=False, load_default=1)
    per_page = bounded_int(1, MAX_PER_PAGE, strict=False, load_default=50)


class ErrorDetailSchema(Schema):
    code = fields.String()
    message = fields.String()
    details = fields.Dict()
    request_id = fields.String()


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema)


def page_schema(item: type[Schema], name: str) -> type[Schema]:
    """A list envelope `{items, page, per_page, total}` around `item`."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item)),
            "page": fields.Integer(),
            "per_page": fields.Integer(),
            "total": fields.Integer(),
        },
        name=name,
    )
