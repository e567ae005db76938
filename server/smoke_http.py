"""The HTTP side of `matchday smoke`: JSON requests and an SSE reader, on the standard library
(a deploy step runs it from a bare runner or a pod; nothing of the server is loaded)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


class SmokeError(Exception):
    """A check failed; the message is its one-line reason."""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class Frame:
    event: str = "message"
    data: str = ""
    id: str | None = None
    retry: int | None = None
    fields: list[str] = field(default_factory=list)


class Client:
    def __init__(self, base_url: str, timeout: float) -> None:
        # http(s) only: the requests below are then never file: or another scheme (S310).
        if urlsplit(base_url).scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base = base_url.rstrip("/")
        self.timeout = timeout

    def request(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)  # noqa: S310
        request.add_header("Accept", "application/json")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310  # nosec B310
                return _reply(response.status, dict(response.headers), response.read())
        except urllib.error.HTTPError as error:  # a status: the caller judges it
            return _reply(error.code, dict(error.headers), error.read())
        except (urllib.error.URLError, OSError) as error:
            raise SmokeError(f"cannot reach {self.base}: {_reason(error)}") from error

    def stream(self, path: str, headers: dict[str, str]) -> Iterator[Frame]:
        """The frames of an SSE response, as they come. Each read waits at most `timeout`."""
        request = urllib.request.Request(self.base + path, headers=headers)  # noqa: S310
        request.add_header("Accept", "text/event-stream")
        try:
            response = urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310  # nosec B310
        except urllib.error.HTTPError as error:
            raise SmokeError(f"GET {path}: {error.code} {_error_message(error.read())}") from error
        except (urllib.error.URLError, OSError) as error:
            raise SmokeError(f"cannot reach {self.base}: {_reason(error)}") from error
        with response:
            kind = response.headers.get("Content-Type", "")
            if not kind.startswith("text/event-stream"):
                raise SmokeError(f"GET {path}: Content-Type {kind!r}, not text/event-stream")
            yield from _frames(response)


def _frames(response: Any) -> Iterator[Frame]:
    frame = Frame()
    while True:
        try:
            raw = response.readline()
        except TimeoutError as error:
            raise SmokeError("the stream sent nothing in time") from error
        if not raw:
            raise SmokeError("the server closed the stream")
        line = raw.decode("utf-8").rstrip("\r\n")
        if not line:
            if frame.fields:
                yield frame
            frame = Frame()
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        frame.fields.append(name)
        if name == "event":
            frame.event = value
        elif name == "data":
            frame.data = value if not frame.data else f"{frame.data}\n{value}"
        elif name == "id":
            frame.id = value
        elif name == "retry" and value.isdigit():
            frame.retry = int(value)


def _reply(status: int, headers: dict[str, str], raw: bytes) -> Reply:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Reply(status, headers, body)


def _error_message(raw: bytes) -> str:
    body = _reply(0, {}, raw).body
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return str(body["error"].get("message", ""))
    return str(body)[:200] if body else ""


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", error)
    return str(reason) or type(reason).__name__


def deadline(seconds: float) -> float:
    return time.monotonic() + seconds
