"""Alibaba Cloud API request signing, signature V1 (RPC, HMAC-SHA1) and V3 (ACS3-HMAC-SHA256).

Pure functions: the caller passes the time and the nonce, so every signature is reproducible.
The emulator verifies with the same functions; tests prove them against the official SDK.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from urllib.parse import quote

V1_SIGNATURE_METHOD = "HMAC-SHA1"
V1_SIGNATURE_VERSION = "1.0"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

# RFC 3986 unreserved characters stay literal; everything else is %XX of its UTF-8 bytes.
_UNRESERVED = "-_.~"


# A call encodes each value twice (its canonical query is signed, then sent), and `quote` goes byte by byte
# in Python: a DescribeTasks call's TaskIds of 100 ids is a few kB. Recent answers are kept (a few hundred kB).
@lru_cache(maxsize=128)
def percent_encode(value: str) -> str:
    """Percent-encode as both signature versions require (space is %20, '*' is %2A, '~' stays)."""
    return quote(value, safe=_UNRESERVED)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with seconds, as both versions expect (`2016-02-23T12:46:24Z`)."""
    if moment.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_query(params: Mapping[str, str]) -> str:
    """Sorted `k=v` pairs joined by `&`, names and values percent-encoded."""
    return "&".join(f"{percent_encode(name)}={percent_encode(params[name])}" for name in sorted(params))


_REPLACED_ON_SIGNING = frozenset({"Signature", "SecurityToken"})


# --- V1 -------------------------------------------------------------------------------------


def v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    return f"{method.upper()}&{percent_encode('/')}&{percent_encode(canonical_query(params))}"


def v1_signature(params: Mapping[str, str], method: str, secret: str) -> str:
    """Base64 HMAC-SHA1 over the string to sign; `params` holds every parameter but `Signature`."""
    digest = hmac.digest(f"{secret}&".encode(), v1_string_to_sign(method, params).encode(), "sha1")
    return base64.b64encode(digest).decode()


def v1_signed_params(
    *,
    action: str,
    version: str,
    params: Mapping[str, str],
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    timestamp: datetime,
    nonce: str,
    method: str = "GET",
    response_format: str = "JSON",
) -> dict[str, str]:
    """The full query of a V1 request: API parameters, common parameters and `Signature`."""
    # A `Signature` already in `params` (re-signing a query) is replaced, never signed over; so is a stale
    # `SecurityToken`: the token, if any, is the credentials' own.
    signed: dict[str, str] = {name: value for name, value in params.items() if name not in _REPLACED_ON_SIGNING}
    signed.update(
        Action=action,
        Version=version,
        Format=response_format,
        AccessKeyId=access_key_id,
        SignatureMethod=V1_SIGNATURE_METHOD,
        SignatureVersion=V1_SIGNATURE_VERSION,
        SignatureNonce=nonce,
        Timestamp=format_timestamp(timestamp),
    )
    if security_token:
        signed["SecurityToken"] = security_token
    signed["Signature"] = v1_signature(signed, method, access_key_secret)
    return signed


# --- V3 -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class V3Authorization:
    """The parts of an `Authorization: ACS3-HMAC-SHA256 ...` header."""

    access_key_id: str
    signed_headers: tuple[str, ...]
    signature: str

    def header_value(self) -> str:
        return (
            f"{V3_ALGORITHM} Credential={self.access_key_id},"
            f"SignedHeaders={';'.join(self.signed_headers)},Signature={self.signature}"
        )

    @classmethod
    def parse(cls, value: str) -> V3Authorization | None:
        """Parse a header value; None when it is not a well-formed V3 authorization."""
        algorithm, _, rest = value.strip().partition(" ")
        if algorithm != V3_ALGORITHM:
            return None
        parts: dict[str, str] = {}
        for item in rest.split(","):
            name, sep, val = item.strip().partition("=")
            if not sep:
                return None
            parts[name] = val
        try:
            return cls(
                access_key_id=parts["Credential"],
                signed_headers=tuple(h for h in parts["SignedHeaders"].split(";") if h),
                signature=parts["Signature"],
            )
        except KeyError:
            return None


def v3_canonical_request(
    method: str,
    pathname: str,
    query: Mapping[str, str],
    signed_headers: Mapping[str, str],
    payload_sha256: str,
) -> tuple[str, tuple[str, ...]]:
    """The canonical request and the sorted, lowercased list of signed header names."""
    lowered = {name.lower(): value.strip() for name, value in signed_headers.items()}
    names = tuple(sorted(lowered))
    header_block = "".join(f"{name}:{lowered[name]}\n" for name in names)
    canonical = "\n".join(
        (
            method.upper(),
            pathname or "/",
            canonical_query(query),
            header_block,
            ";".join(names),
            payload_sha256,
        )
    )
    return canonical, names


def v3_string_to_sign(canonical_request: str) -> str:
    return f"{V3_ALGORITHM}\n{hashlib.sha256(canonical_request.encode()).hexdigest()}"


def v3_authorization(
    *,
    method: str,
    pathname: str,
    query: Mapping[str, str],
    signed_headers: Mapping[str, str],
    payload_sha256: str,
    access_key_id: str,
    access_key_secret: str,
) -> V3Authorization:
    """Sign exactly the headers given (the caller decides which are signed)."""
    canonical, names = v3_canonical_request(method, pathname, query, signed_headers, payload_sha256)
    # The one-shot `hmac.digest` runs in OpenSSL; `hmac.new` builds two hash objects in Python first.
    signature = hmac.digest(access_key_secret.encode(), v3_string_to_sign(canonical).encode(), "sha256").hex()
    return V3Authorization(access_key_id=access_key_id, signed_headers=names, signature=signature)


def v3_signed_headers(
    *,
    method: str,
    host: str,
    pathname: str,
    query: Mapping[str, str],
    action: str,
    version: str,
    body: bytes,
    access_key_id: str,
    access_key_secret: str,
    security_token: str | None,
    timestamp: datetime,
    nonce: str,
    content_type: str | None = None,
    extra_headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every header of a V3 request, `Authorization` included. `extra_headers` are signed too."""
    payload_sha256 = hashlib.sha256(body).hexdigest() if body else EMPTY_BODY_SHA256
    headers: dict[str, str] = {
        "host": host,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": format_timestamp(timestamp),
        "x-acs-signature-nonce": nonce,
        "x-acs-content-sha256": payload_sha256,
    }
    if security_token:
        headers["x-acs-security-token"] = security_token
    if content_type:
        headers["content-type"] = content_type
    if extra_headers:
        headers.update({name.lower(): value for name, value in extra_headers.items()})
    authorization = v3_authorization(
        method=method,
        pathname=pathname,
        query=query,
        signed_headers=headers,
        payload_sha256=payload_sha256,
        access_key_id=access_key_id,
        access_key_secret=access_key_secret,
    )
    headers["Authorization"] = authorization.header_value()
    return headers
