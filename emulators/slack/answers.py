"""What the emulator answers over HTTP: a success, or a refusal as Slack words it.

Slack answers most refusals with HTTP 200 and `{"ok": false, "error": ...}`; rate limits with HTTP 429, a
`Retry-After` header and the same JSON; response_url refusals with 4xx; and an outage with a 5xx whose body
is no Slack JSON at all (`text`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

HTTP_OK = 200
JSON_TYPE = "application/json; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"


@dataclass(frozen=True)
class HttpAnswer:
    """An HTTP response: status, headers beyond Content-Type/Length, and the body with its type."""

    status: int
    body: bytes
    content_type: str = JSON_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(
        cls, body: Mapping[str, Any], *, status: int = HTTP_OK, headers: Mapping[str, str] | None = None
    ) -> HttpAnswer:
        return cls(status, json.dumps(body).encode("utf-8"), JSON_TYPE, dict(headers or {}))


class SlackApiFailure(Exception):
    """An `ok: false` answer: the Slack error code, HTTP status, extra fields and headers Slack adds.

    `text` replaces the JSON body with plain text, as an outage's 5xx page is.
    """

    def __init__(
        self,
        error: str,
        *,
        status: int = HTTP_OK,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        text: str | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.status = status
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})
        self.text = text

    def body(self) -> dict[str, Any]:
        return {"ok": False, "error": self.error, **self.extra}

    def answer(self) -> HttpAnswer:
        if self.text is not None:
            return HttpAnswer(self.status, self.text.encode("utf-8"), TEXT_TYPE, self.headers)
        return HttpAnswer.of(self.body(), status=self.status, headers=self.headers)
