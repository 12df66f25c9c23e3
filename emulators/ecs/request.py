"""An incoming API request as the verifier sees it: method, path, query, form body and headers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
AUTHORIZATION = "authorization"
V1 = "v1"
V3 = "v3"
# V1 parameters that are about signing and transport, not about the API call.
V1_COMMON_PARAMS = frozenset(
    {
        "Action",
        "Format",
        "Version",
        "AccessKeyId",
        "SignatureMethod",
        "Timestamp",
        "SignatureVersion",
        "SignatureNonce",
        "SecurityToken",
        "Signature",
    }
)
# A V3 request may still ask for XML with a `Format` query parameter; it is not an API parameter.
V3_TRANSPORT_PARAMS = frozenset({"Format"})
V3_ACTION_HEADER = "x-acs-action"
V3_VERSION_HEADER = "x-acs-version"


@dataclass(frozen=True)
class IncomingRequest:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    # Header names lowercased; values as received.
    headers: dict[str, str]
    body: bytes = field(repr=False)

    @property
    def params(self) -> dict[str, str]:
        """Query and form parameters together (the form wins a clash, as it came last)."""
        return {**self.query, **self.form}

    @property
    def signature_version(self) -> str:
        return V3 if AUTHORIZATION in self.headers else V1

    @property
    def action(self) -> str:
        if self.signature_version == V3:
            return self.headers.get(V3_ACTION_HEADER, "")
        return self.params.get("Action", "")

    @property
    def version(self) -> str:
        if self.signature_version == V3:
            return self.headers.get(V3_VERSION_HEADER, "")
        return self.params.get("Version", "")

    @property
    def api_params(self) -> dict[str, str]:
        """The call's own parameters, without the V1 signing parameters."""
        ignored = V3_TRANSPORT_PARAMS if self.signature_version == V3 else V1_COMMON_PARAMS
        return {name: value for name, value in self.params.items() if name not in ignored}


def parse_request(method: str, target: str, headers: Mapping[str, str], body: bytes) -> IncomingRequest:
    split = urlsplit(target)
    lowered = {name.lower(): value for name, value in headers.items()}
    content_type = lowered.get("content-type", "").split(";")[0].strip().lower()
    form = _pairs(body.decode("utf-8", errors="replace")) if content_type == FORM_CONTENT_TYPE else {}
    return IncomingRequest(
        method=method.upper(),
        path=split.path or "/",
        query=_pairs(split.query),
        form=form,
        headers=lowered,
        body=body,
    )


def _pairs(encoded: str) -> dict[str, str]:
    return dict(parse_qsl(encoded, keep_blank_values=True))
