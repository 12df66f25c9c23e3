"""Signature checks, V1 and V3, done with the official SDK's signing utilities (`alibabacloud-openapi-util`),
never with the project's own signer: what the emulators accept is what Alibaba Cloud's SDK would sign.

Used by the STS emulator for its callers and by the ECS emulator's account hook for STS-issued credentials.
Order of checks as the gateway's: the pieces are there, the timestamp is well formed and recent, the key
exists, its token matches, the session has not expired, the signature matches, and then the nonce is spent.
"""

from __future__ import annotations

import hashlib
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol

from alibabacloud_openapi_util.client import Client as OfficialSigner

V1_SIGNATURE_METHOD = "HMAC-SHA1"
V3_ALGORITHM = "ACS3-HMAC-SHA256"
REQUEST_WINDOW = timedelta(minutes=15)
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
V1_REQUIRED = ("Signature", "AccessKeyId", "SignatureMethod", "SignatureVersion", "SignatureNonce", "Timestamp")
V3_REQUIRED_SIGNED = ("host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce")
V3_SECURITY_TOKEN = "x-acs-security-token"
V3_CONTENT_SHA256 = "x-acs-content-sha256"


@dataclass(frozen=True)
class SigningError(Exception):
    """A refusal before the API is reached: HTTP status, Code and Message as the gateway answers."""

    status: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


@dataclass(frozen=True)
class KeyRecord:
    """What the verifier needs to know about an access key."""

    secret: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    expires_at: datetime | None = None


class SignedRequest(Protocol):
    """An incoming request: method, path, decoded query and form, lowercased headers, raw body."""

    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def query(self) -> dict[str, str]: ...
    @property
    def form(self) -> dict[str, str]: ...
    @property
    def headers(self) -> dict[str, str]: ...
    @property
    def body(self) -> bytes: ...


@dataclass(frozen=True)
class _SdkRequest:
    """The shape OfficialSigner.get_authorization reads."""

    method: str
    pathname: str
    query: Mapping[str, str]
    headers: Mapping[str, str]


def _error(status: int, code: str, message: str) -> SigningError:
    return SigningError(status, code, message)


def incomplete(detail: str) -> SigningError:
    return _error(400, "IncompleteSignature", f"The request signature does not conform to Aliyun standards. {detail}")


class OfficialVerifier:
    """Verifies V1 and V3 signatures; `keys` looks an access key id up (None: unknown). Thread-safe."""

    def __init__(self, keys: Callable[[str], KeyRecord | None], clock: Callable[[], datetime]) -> None:
        self._keys = keys
        self._clock = clock
        self._lock = threading.Lock()
        self._nonces: dict[tuple[str, str], datetime] = {}

    def verify(self, request: SignedRequest) -> str:
        """The caller's access key id; SigningError when the request is not properly signed."""
        if "authorization" in request.headers:
            return self._v3(request)
        return self._v1(request)

    def _v1(self, request: SignedRequest) -> str:
        params = {**request.query, **request.form}
        missing = [name for name in V1_REQUIRED if not params.get(name)]
        if missing:
            raise incomplete(f"Missing {', '.join(missing)}.")
        if params["SignatureMethod"] != V1_SIGNATURE_METHOD:
            raise incomplete("Unsupported SignatureMethod.")
        now = self._check_timestamp(params["Timestamp"])
        access_key_id = params["AccessKeyId"]
        record = self._record(access_key_id, params.get("SecurityToken"), now)
        unsigned = {name: value for name, value in params.items() if name != "Signature"}
        expected = OfficialSigner.get_rpcsignature(unsigned, request.method, record.secret)
        if not hmac.compare_digest(expected, params["Signature"]):
            raise _error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        self._spend(access_key_id, params["SignatureNonce"], now)
        return access_key_id

    def _v3(self, request: SignedRequest) -> str:
        algorithm, _, rest = request.headers["authorization"].strip().partition(" ")
        parts = dict(item.strip().partition("=")[::2] for item in rest.split(",") if "=" in item)
        if algorithm != V3_ALGORITHM or not {"Credential", "SignedHeaders", "Signature"} <= parts.keys():
            raise incomplete("Malformed Authorization header.")
        signed_names = [name for name in parts["SignedHeaders"].split(";") if name]
        unsigned = [name for name in V3_REQUIRED_SIGNED if name not in signed_names]
        absent = [name for name in signed_names if name not in request.headers]
        if unsigned or absent:
            raise incomplete(f"Unsigned {unsigned}, absent {absent}.")
        token = request.headers.get(V3_SECURITY_TOKEN)
        if token is not None and V3_SECURITY_TOKEN not in signed_names:
            raise incomplete(f"{V3_SECURITY_TOKEN} must be signed.")
        now = self._check_timestamp(request.headers["x-acs-date"])
        access_key_id = parts["Credential"]
        record = self._record(access_key_id, token, now)
        payload = hashlib.sha256(request.body).hexdigest()
        if request.headers.get(V3_CONTENT_SHA256, payload) != payload:
            raise _error(400, "SignatureDoesNotMatch", "The x-acs-content-sha256 header does not match the body.")
        sdk_request = _SdkRequest(
            method=request.method,
            pathname=request.path,
            query=request.query,
            headers={name: request.headers[name] for name in signed_names},
        )
        expected = OfficialSigner.get_authorization(sdk_request, V3_ALGORITHM, payload, access_key_id, record.secret)
        if not hmac.compare_digest(expected, request.headers["authorization"].strip()):
            raise _error(400, "SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        self._spend(access_key_id, request.headers["x-acs-signature-nonce"], now)
        return access_key_id

    def _check_timestamp(self, text: str) -> datetime:
        try:
            stamp = datetime.strptime(text, TIMESTAMP_FORMAT).replace(tzinfo=timezone.utc)
        except ValueError:
            raise _error(
                400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
            ) from None
        now = self._clock()
        if abs(now - stamp) > REQUEST_WINDOW:
            raise _error(400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        return now

    def _record(self, access_key_id: str, token: str | None, now: datetime) -> KeyRecord:
        record = self._keys(access_key_id)
        if record is None:
            raise _error(404, "InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        if record.token is not None and not token:
            raise _error(400, "MissingSecurityToken", "SecurityToken is mandatory for this action.")
        if token and (record.token is None or not hmac.compare_digest(token, record.token)):
            raise _error(400, "InvalidSecurityToken.MismatchWithAccessKey", "Specified SecurityToken mismatch.")
        if record.expires_at is not None and now >= record.expires_at:
            raise _error(400, "InvalidSecurityToken.Expired", "Specified SecurityToken is expired.")
        return record

    def _spend(self, access_key_id: str, nonce: str, now: datetime) -> None:
        key = (access_key_id, nonce)
        with self._lock:
            for old, seen in list(self._nonces.items()):
                if seen < now - REQUEST_WINDOW:
                    del self._nonces[old]
            if key in self._nonces:
                raise _error(400, "SignatureNonceUsed", "Specified signature nonce was used already.")
            self._nonces[key] = now
