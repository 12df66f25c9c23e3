"""Pure translators between Function Compute 3.0 HTTP events and Bolt's request/response types
(modelled on Bolt's `aws_lambda` adapter: `to_bolt_request` / `to_aws_response`)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt import BoltRequest, BoltResponse

# Slack's payloads are a few kilobytes; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024


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


def event_headers(event: Mapping[str, Any]) -> dict[str, str | Sequence[str]]:
    """Lower-cased headers."""
    headers = event.get("headers") or {}
    if not isinstance(headers, Mapping):
        raise BadEvent(400, "the headers are not an object")
    return {str(k).lower(): str(v) for k, v in headers.items()}


def event_query(event: Mapping[str, Any]) -> dict[str, Sequence[str]]:
    query = event.get("queryParameters") or {}
    if not isinstance(query, Mapping):
        raise BadEvent(400, "the query parameters are not an object")
    return {str(k): [str(v)] for k, v in query.items()}


def to_bolt_request(event: Mapping[str, Any], *, context: Mapping[str, Any] | None = None) -> BoltRequest:
    """The request Bolt dispatches. Bolt parses the body here: verify the signature first."""
    # Imported here: a cold instance verifies the request and starts its ECS call before Bolt loads.
    from slack_bolt import BoltRequest

    return BoltRequest(
        body=event_body(event), query=event_query(event), headers=event_headers(event), context=dict(context or {})
    )


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
