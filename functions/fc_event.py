"""Pure translators between Function Compute 3.0 HTTP events and Bolt's request/response types
(modelled on Bolt's `aws_lambda` adapter: `to_bolt_request` / `to_aws_response`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt import BoltRequest, BoltResponse

# Slack's payloads are a few kilobytes; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024
LAZY_ONLY_HEADER = "x-slack-bolt-lazy-only"
LAZY_FUNCTION_HEADER = "x-slack-bolt-lazy-function-name"
LAZY_HEADERS = (LAZY_ONLY_HEADER, LAZY_FUNCTION_HEADER)


class BadEvent(ValueError):
    """The event cannot become a Slack request (reported to the caller as a 4xx, never as a crash)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def http_method(event: Mapping[str, Any]) -> str | None:
    http = (event.get("requestContext") or {}).get("http") or {}
    method = http.get("method")
    return str(method).upper() if method else None


def event_body(event: Mapping[str, Any]) -> str:
    raw = event.get("body") or ""
    if not isinstance(raw, str):
        raise BadEvent(400, "the body is not text")
    if event.get("isBase64Encoded"):
        try:
            data = base64.b64decode(raw, validate=True)
        except binascii.Error as exc:
            raise BadEvent(400, "the body is not valid base64") from exc
    else:
        data = raw.encode("utf-8", errors="surrogatepass")
    if len(data) > MAX_BODY_BYTES:
        raise BadEvent(413, f"the body is larger than {MAX_BODY_BYTES} bytes")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadEvent(400, "the body is not valid UTF-8") from exc


def event_headers(event: Mapping[str, Any], *, allow_lazy: bool) -> dict[str, str | Sequence[str]]:
    """Lower-cased headers. Lazy-only markers are honoured only on our own async invocations, never from
    the public HTTP trigger, where anyone could send them."""
    headers: dict[str, str | Sequence[str]] = {str(k).lower(): str(v) for k, v in (event.get("headers") or {}).items()}
    if not allow_lazy:
        for name in LAZY_HEADERS:
            headers.pop(name, None)
    return headers


def to_bolt_request(event: Mapping[str, Any], *, allow_lazy: bool = False) -> BoltRequest:
    query: dict[str, Sequence[str]] = {str(k): [str(v)] for k, v in (event.get("queryParameters") or {}).items()}
    return BoltRequest(body=event_body(event), query=query, headers=event_headers(event, allow_lazy=allow_lazy))


def to_fc_response(response: BoltResponse) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": response.first_headers_without_set_cookie(),
        "body": response.body,
        "isBase64Encoded": False,
    }


def plain_response(status: int, text: str) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"content-type": "text/plain; charset=utf-8"},
        "body": text,
        "isBase64Encoded": False,
    }
