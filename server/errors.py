"""The one error shape of the API: {"error": {code, message, details, request_id}}."""

from __future__ import annotations

from typing import Any

from server.services.errors import (
    AuthenticationFailed,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

STATUS_BY_DOMAIN_ERROR: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    PermissionDenied: 403,
    AuthenticationFailed: 401,
    InvalidInput: 422,
}

DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
    504: "timeout",
}


class ApiError(Exception):
    """Raised by handlers to answer with a given status and the contract's error body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or DEFAULT_CODES.get(status, "error")
        self.message = message
        self.details = details or {}
        self.headers = headers or {}

    @classmethod
    def from_domain(cls, error: DomainError) -> ApiError:
        status = next(
            (s for kind, s in STATUS_BY_DOMAIN_ERROR.items() if isinstance(error, kind)), 400
        )
        return cls(status, error.message, code=error.code, details=error.details)


def error_body(status: int, message: str, code: str, details: Any, request_id: str) -> dict:
    return {
        "error": {
            "code": code or DEFAULT_CODES.get(status, "error"),
            "message": message,
            "details": details or {},
            "request_id": request_id,
        }
    }
