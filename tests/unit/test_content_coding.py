"""Which callers get a cached body gzipped (RFC 9110 Accept-Encoding), and that the gzip bytes
are the same bytes in every process."""

from __future__ import annotations

import gzip

import pytest
from hypothesis import given
from hypothesis import strategies as st

from server.content_coding import accepts_gzip, gzip_bytes, gzip_etag
from server.reads.cache import encode


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br, zstd", True),  # a browser's
        ("gzip", True),
        ("GZIP;Q=0.5", True),
        ("x-gzip", True),
        ("br;q=1.0, gzip;q=0.8, *;q=0.1", True),
        ("*", True),
        ("", False),
        (None, False),
        ("identity", False),
        ("deflate, br", False),
        ("gzip;q=0", False),
        ("gzip;q=0.000", False),
        ("*, gzip;q=0", False),  # named refusal wins over the wildcard
        ("gzip;q=0, *", False),
        ("*;q=0", False),
        ("gzip;q=nonsense", False),
        ("gzipped", False),
    ],
)
def test_accepts_gzip(header: str | None, accepted: bool) -> None:
    assert accepts_gzip(header) is accepted


CODINGS = st.sampled_from(["identity", "deflate", "br", "zstd", "compress"])


@given(st.lists(CODINGS, max_size=5))
def test_a_header_without_gzip_or_a_wildcard_never_gets_gzip(codings: list[str]) -> None:
    assert not accepts_gzip(", ".join(codings))


@given(st.lists(CODINGS, max_size=4), st.integers(0, 4), st.integers(1, 1000))
def test_gzip_with_a_positive_weight_is_accepted_wherever_it_is_listed(
    codings: list[str], at: int, weight: int
) -> None:
    codings.insert(min(at, len(codings)), f"gzip;q={weight / 1000:.3f}")
    assert accepts_gzip(", ".join(codings))


@given(st.binary(min_size=1024, max_size=20_000))
def test_the_gzip_bytes_round_trip_and_do_not_depend_on_the_clock(data: bytes) -> None:
    packed = gzip_bytes(data)
    assert gzip.decompress(packed) == data
    assert gzip_bytes(data) == packed  # mtime 0: every process sends, and tags, the same bytes


def test_a_body_is_gzipped_once_and_small_ones_not_at_all() -> None:
    body = encode({"items": [{"id": n, "name": f"Team {n}"} for n in range(100)]}, public=True)
    first = body.gzipped()
    assert first is not None and first is body.gzipped()
    assert first[1] == gzip_etag(body.etag) != body.etag
    assert first[1].startswith('"') and first[1].endswith('-gz"')
    assert encode({"id": 1}, public=True).gzipped() is None
