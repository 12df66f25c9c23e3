"""Alibaba Cloud request signatures as the emulators check them: computed by the official SDK's signing
utilities (`alibabacloud-openapi-util`, a dev dependency), never by the product's `shared.ecs.signer`, so an
emulator cannot share a bug of the signer it is meant to catch.

What is ours here is only reading the `Authorization` header's parts and, for error messages, spelling out the
string to sign (the service quotes it in SignatureDoesNotMatch); whether a signature matches is the SDK's call.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from urllib.parse import quote

from alibabacloud_openapi_util.client import Client as SdkSigner
from alibabacloud_openapi_util.client import get_canonical_query_string, get_canonicalized_headers

V1_SIGNATURE_METHOD = "HMAC-SHA1"
V1_SIGNATURE_VERSION = "1.0"
V3_ALGORITHM = "ACS3-HMAC-SHA256"


@dataclass(frozen=True)
class V3Authorization:
    """The parts of an `Authorization: ACS3-HMAC-SHA256 Credential=...,SignedHeaders=...,Signature=...` header."""

    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str

    @classmethod
    def parse(cls, value: str) -> V3Authorization | None:
        """None when the value is not a well-formed V3 authorization."""
        algorithm, _, rest = value.strip().partition(" ")
        if algorithm != V3_ALGORITHM:
            return None
        parts: dict[str, str] = {}
        for item in rest.split(","):
            name, sep, text = item.strip().partition("=")
            if not sep:
                return None
            parts[name] = text
        credential, names, signature = parts.get("Credential"), parts.get("SignedHeaders"), parts.get("Signature")
        if not credential or names is None or not signature:
            return None
        return cls(credential, tuple(name for name in names.split(";") if name), signature)


@dataclass
class _SdkRequest:
    """The shape the SDK's `get_authorization` reads."""

    method: str
    pathname: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def v3_matches(
    authorization: V3Authorization,
    *,
    method: str,
    path: str,
    query: dict[str, str],
    signed_headers: dict[str, str],
    payload_sha256: str,
    secret: str,
) -> bool:
    """Whether the header's signature is the SDK's for this request (it signs exactly `signed_headers`)."""
    expected = SdkSigner.get_authorization(
        _SdkRequest(method, path, dict(query), dict(signed_headers)),
        V3_ALGORITHM,
        payload_sha256,
        authorization.access_key_id,
        secret,
    )
    parsed = V3Authorization.parse(expected)
    return parsed is not None and hmac.compare_digest(parsed.signature, authorization.signature)


def v3_string_to_sign(
    *, method: str, path: str, query: dict[str, str], signed_headers: dict[str, str], payload_sha256: str
) -> str:
    """The server's string to sign, for the SignatureDoesNotMatch message (built from the SDK's helpers)."""
    headers, names = get_canonicalized_headers(signed_headers)
    canonical = f"{method}\n{path or '/'}\n{get_canonical_query_string(query)}\n{headers}\n{names}\n{payload_sha256}"
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"


def v1_matches(params: dict[str, str], method: str, secret: str, signature: str) -> bool:
    """Whether `signature` is the SDK's V1 signature of `params` (every parameter but Signature)."""
    expected: str = SdkSigner.get_rpcsignature(dict(params), method, secret)
    return hmac.compare_digest(expected, signature)


def v1_string_to_sign(method: str, params: dict[str, str]) -> str:
    """The V1 string to sign, for the SignatureDoesNotMatch message only."""
    canonical = "&".join(f"{_encode(name)}={_encode(params[name])}" for name in sorted(params))
    return f"{method}&%2F&{_encode(canonical)}"


def _encode(text: str) -> str:
    return quote(text, safe="~")
