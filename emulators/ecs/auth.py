"""Signature checks, V1 (RPC, HMAC-SHA1) and V3 (ACS3-HMAC-SHA256), with the service's error codes. The
signatures are computed by the official SDK's utilities (emulators.acs_signature), never by our own signer.

Order of checks: the signature's pieces are all there (IncompleteSignature), the timestamp is well
formed and within 15 minutes (InvalidTimeStamp.*), the key exists (InvalidAccessKeyId.NotFound), an
STS key comes with its token (MissingSecurityToken / InvalidSecurityToken.MismatchWithAccessKey),
the signature matches (SignatureDoesNotMatch), and only then the nonce is spent (SignatureNonceUsed),
so a forged request cannot burn a client's nonce.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from emulators.acs_signature import (
    V1_SIGNATURE_METHOD,
    V1_SIGNATURE_VERSION,
    V3Authorization,
    v1_matches,
    v1_string_to_sign,
    v3_matches,
    v3_string_to_sign,
)
from emulators.ecs import errors
from emulators.ecs.request import V1, IncomingRequest

# Both how far a timestamp may be from the server's clock and how long a nonce is remembered.
REQUEST_WINDOW = timedelta(minutes=15)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

V1_REQUIRED = ("Signature", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp")
V1_SECURITY_TOKEN = "SecurityToken"

V3_DATE = "x-acs-date"
V3_NONCE = "x-acs-signature-nonce"
V3_CONTENT_SHA256 = "x-acs-content-sha256"
V3_SECURITY_TOKEN = "x-acs-security-token"
V3_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-version", V3_DATE, V3_NONCE, V3_CONTENT_SHA256)


@dataclass(frozen=True)
class Identity:
    access_key_id: str


class NonceCache:
    """Nonces seen per access key within the request window. Thread-safe."""

    def __init__(self, window: timedelta = REQUEST_WINDOW) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], datetime] = {}
        self._order: deque[tuple[datetime, tuple[str, str]]] = deque()

    def spend(self, access_key_id: str, nonce: str, now: datetime) -> bool:
        """Record the nonce; False when it was already used."""
        key = (access_key_id, nonce)
        with self._lock:
            while self._order and self._order[0][0] < now - self._window:
                _, old = self._order.popleft()
                self._seen.pop(old, None)
            if key in self._seen:
                return False
            self._seen[key] = now
            self._order.append((now, key))
            return True


class Authenticator:
    def __init__(
        self,
        credentials: Mapping[str, str],
        sts_tokens: Mapping[str, str],
        request_clock: Callable[[], datetime],
    ) -> None:
        self._credentials = dict(credentials)
        self._sts_tokens = dict(sts_tokens)
        self._request_clock = request_clock
        self._nonces = NonceCache()

    def authenticate(self, request: IncomingRequest) -> Identity:
        if request.signature_version == V1:
            return self._v1(request)
        return self._v3(request)

    # --- V1 ---------------------------------------------------------------------------------

    def _v1(self, request: IncomingRequest) -> Identity:
        params = request.params
        missing = [name for name in V1_REQUIRED if not params.get(name)]
        if missing:
            raise errors.incomplete_signature(f"Missing {', '.join(missing)}.")
        if params["SignatureMethod"] != V1_SIGNATURE_METHOD or params["SignatureVersion"] != V1_SIGNATURE_VERSION:
            raise errors.incomplete_signature("Unsupported SignatureMethod or SignatureVersion.")
        now = self._check_timestamp(params["Timestamp"])
        access_key_id = params["AccessKeyId"]
        secret = self._secret(access_key_id)
        self._check_token(access_key_id, params.get(V1_SECURITY_TOKEN))
        signed = {name: value for name, value in params.items() if name != "Signature"}
        if not v1_matches(signed, request.method, secret, params["Signature"]):
            raise errors.signature_mismatch(v1_string_to_sign(request.method, signed))
        self._spend_nonce(access_key_id, params["SignatureNonce"], now)
        return Identity(access_key_id)

    # --- V3 ---------------------------------------------------------------------------------

    def _v3(self, request: IncomingRequest) -> Identity:
        authorization = V3Authorization.parse(request.headers["authorization"])
        if authorization is None:
            raise errors.incomplete_signature("Malformed Authorization header.")
        signed_names = {name.lower() for name in authorization.signed_headers}
        unsigned = [name for name in V3_REQUIRED_SIGNED if name not in signed_names]
        absent = sorted(name for name in signed_names if name not in request.headers)
        if unsigned or absent:
            raise errors.incomplete_signature(f"Unsigned {unsigned}, absent {absent}.")
        now = self._check_timestamp(request.headers[V3_DATE])
        access_key_id = authorization.access_key_id
        secret = self._secret(access_key_id)
        token = request.headers.get(V3_SECURITY_TOKEN)
        if token is not None and V3_SECURITY_TOKEN not in signed_names:
            raise errors.incomplete_signature(f"{V3_SECURITY_TOKEN} must be signed.")
        self._check_token(access_key_id, token)
        payload_sha256 = request.headers[V3_CONTENT_SHA256]
        if not hmac.compare_digest(payload_sha256, hashlib.sha256(request.body).hexdigest()):
            raise errors.content_sha256_mismatch()
        signed_headers = {name: request.headers[name] for name in signed_names}
        method, path, query = request.method, request.path, request.query
        if not v3_matches(
            authorization,
            method=method,
            path=path,
            query=query,
            signed_headers=signed_headers,
            payload_sha256=payload_sha256,
            secret=secret,
        ):
            stated = v3_string_to_sign(
                method=method, path=path, query=query, signed_headers=signed_headers, payload_sha256=payload_sha256
            )
            raise errors.signature_mismatch(stated)
        self._spend_nonce(access_key_id, request.headers[V3_NONCE], now)
        return Identity(access_key_id)

    # --- shared -----------------------------------------------------------------------------

    def _check_timestamp(self, text: str) -> datetime:
        """The request's time is well formed and within the window; returns the server's now."""
        try:
            stamp = datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            raise errors.timestamp_format() from None
        now = self._request_clock()
        if abs(now - stamp) > REQUEST_WINDOW:
            raise errors.timestamp_expired()
        return now

    def _secret(self, access_key_id: str) -> str:
        secret = self._credentials.get(access_key_id)
        if secret is None:
            raise errors.access_key_not_found()
        return secret

    def _check_token(self, access_key_id: str, token: str | None) -> None:
        required = self._sts_tokens.get(access_key_id)
        if required is not None and not token:
            raise errors.security_token_missing()
        # A token that is not this key's (or any token with a permanent key) is a mismatch.
        if token and (required is None or not hmac.compare_digest(token, required)):
            raise errors.security_token_mismatch()

    def _spend_nonce(self, access_key_id: str, nonce: str, now: datetime) -> None:
        if not self._nonces.spend(access_key_id, nonce, now):
            raise errors.nonce_used()
