"""HTTPS for `matchday serve`: a modern TLS floor, and an optional plain-HTTP redirector."""

from __future__ import annotations

import re
import ssl

from tornado.web import Application, RequestHandler

# Mozilla's "intermediate" TLS 1.2 suites: forward secrecy and AEAD only. TLS 1.3 suites
# are all strong and OpenSSL configures them separately.
TLS12_CIPHERS = (
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"
    "DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:DHE-RSA-CHACHA20-POLY1305"
)
HOST_PATTERN = re.compile(r"^([A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\])$")


def server_context(certfile: str, keyfile: str) -> ssl.SSLContext:
    """TLS 1.2 minimum, forward-secret AEAD ciphers, no compression, no renegotiation.
    Raises OSError/ssl.SSLError when the files cannot be read or do not match."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE
    context.options |= ssl.OP_NO_RENEGOTIATION
    context.load_cert_chain(certfile, keyfile)
    return context


class RedirectToHttps(RequestHandler):
    """Every method, every path: 301 to the same URL on HTTPS."""

    SUPPORTED_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

    def initialize(self, https_port: int) -> None:
        self.https_port = https_port

    def prepare(self) -> None:
        host = self.request.host_name
        if not HOST_PATTERN.match(host):
            self.set_status(400)
            self.finish("bad Host header\n")
            return
        port = "" if self.https_port == 443 else f":{self.https_port}"
        self.redirect(f"https://{host}{port}{self.request.uri}", permanent=True)


def redirect_app(https_port: int) -> Application:
    return Application([(r".*", RedirectToHttps, {"https_port": https_port})])
