"""Credentials some clients can only put in a URL's query string, and their redaction for
what leaves the process (traces, error reports). Calendar apps send a feed token (`token`),
EventSource an access token (`access_token`). The access log never has them: it logs the
path alone (server/access_log.py)."""

from __future__ import annotations

import re

SECRET_QUERY_PARAMETERS = ("token", "access_token")
_SECRET_VALUE = re.compile(rf"((?:^|[?&])(?:{'|'.join(SECRET_QUERY_PARAMETERS)})=)[^&#]*")


def redact_query(text: str) -> str:
    """`text` (a URL, a request target or a bare query) with each secret value replaced."""
    return _SECRET_VALUE.sub(r"\1REDACTED", text)
