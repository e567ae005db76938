"""gzip for the cached read bodies: which callers accept it, and the bytes.

A cached body (an event's games, the events list, standings) is sent many times per version,
so it is compressed once, on first demand, and the gzip bytes kept beside the plain ones: a
browser (every one sends `Accept-Encoding: gzip`) gets a games list in a fraction of the
bytes at no CPU per request. Responses built per request are not compressed (the work would
be per request); they are small.
"""

from __future__ import annotations

import gzip

GZIP_MIN_BYTES = 1024  # below this the header and framing eat most of the gain
GZIP_LEVEL = 6  # zlib's default: a 44 KB games list in ~0.5 ms, once per version


def accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip (RFC 9110 §12.5.3): `gzip` or `*` listed
    without `q=0`; an explicit `gzip;q=0` refuses it even when `*` is allowed."""
    if not accept_encoding:
        return False
    star = False
    for part in accept_encoding.split(","):
        coding, _, params = part.partition(";")
        name = coding.strip().lower()
        if name not in ("gzip", "x-gzip", "*"):
            continue
        allowed = _quality(params) > 0
        if name == "*":
            star = allowed
        else:
            return allowed
    return star


def _quality(params: str) -> float:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "q":
            try:
                return float(value.strip())
            except ValueError:
                return 0.0  # a malformed weight is no consent
    return 1.0


def gzip_bytes(data: bytes) -> bytes:
    # mtime=0: the same bytes give the same gzip bytes, in every process (one ETag each).
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


def gzip_etag(etag: str) -> str:
    """The gzip representation's strong ETag: another representation, another tag."""
    return etag[:-1] + '-gz"' if etag.endswith('"') else etag + "-gz"
