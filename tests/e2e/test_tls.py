"""`matchday serve --certfile --keyfile`: HTTPS with a TLS 1.2 floor, and the HTTP redirect."""

from __future__ import annotations

import http.client
import json
import ssl
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.certs import self_signed
from tests.e2e.processes import MATCHDAY, Serve, free_port, matchday_env, serving

pytestmark = pytest.mark.e2e


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Serve]:
    with serving(tmp_path) as start:
        yield start


def _https_get(port: int, path: str, context: ssl.SSLContext) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        conn.request("GET", path)
        reply = conn.getresponse()
        return reply.status, dict(reply.getheaders()), reply.read()
    finally:
        conn.close()


def _wait_https(port: int, context: ssl.SSLContext, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if _https_get(port, "/readyz", context)[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the HTTPS server did not become ready")
        time.sleep(0.1)


def test_https_with_modern_floor_and_http_redirect(tmp_path: Path, serve: Serve) -> None:
    certfile, keyfile = self_signed(tmp_path)
    redirect_port = free_port()
    _proc, url = serve(
        matchday_env(tmp_path),
        "--certfile",
        str(certfile),
        "--keyfile",
        str(keyfile),
        "--redirect-http-port",
        str(redirect_port),
    )
    port = int(url.rsplit(":", 1)[1])
    trusting = ssl.create_default_context(cafile=str(certfile))
    _wait_https(port, trusting)

    status, headers, body = _https_get(port, "/healthz", trusting)
    assert status == 200 and json.loads(body)["status"] == "ok"
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")

    # A client that trusts nothing refuses the self-signed certificate: it is really TLS.
    with pytest.raises(ssl.SSLCertVerificationError):
        _https_get(port, "/healthz", ssl.create_default_context())

    # TLS 1.1 (and below) is refused by the server, even from a client that allows it.
    old = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old.load_verify_locations(cafile=str(certfile))
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():  # the old versions are deprecated: that is the point
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    with pytest.raises(ssl.SSLError) as refused:
        _https_get(port, "/healthz", old)
    # the server's alert, not a client unable to offer TLS 1.1 at all
    assert "NO_PROTOCOLS_AVAILABLE" not in str(refused.value), refused.value

    # Plain HTTP on the TLS port is not served.
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    with pytest.raises((OSError, http.client.HTTPException)):
        plain.request("GET", "/healthz")
        plain.getresponse().read()
    plain.close()

    # Plain HTTP on the redirect port: 301 to the same URL on HTTPS.
    redirect = http.client.HTTPConnection("127.0.0.1", redirect_port, timeout=10)
    try:
        redirect.request("GET", "/api/v1/events?page=2", headers={"Host": "localhost"})
        reply = redirect.getresponse()
        reply.read()
    finally:
        redirect.close()
    assert reply.status == 301
    assert reply.getheader("Location") == f"https://localhost:{port}/api/v1/events?page=2"


def test_bad_certificate_is_a_clear_start_up_error(tmp_path: Path) -> None:
    (tmp_path / "cert.pem").write_text("not a certificate")
    result = subprocess.run(
        [MATCHDAY, "serve", "--port", "0", "--certfile", str(tmp_path / "cert.pem")],
        env=matchday_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "--keyfile" in result.stderr
    result = subprocess.run(
        [
            MATCHDAY,
            "serve",
            "--certfile",
            str(tmp_path / "cert.pem"),
            "--keyfile",
            str(tmp_path / "cert.pem"),
        ],
        env=matchday_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "TLS" in result.stderr
