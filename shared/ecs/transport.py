"""One signed Alibaba Cloud API request over a pooled `requests.Session`: the HTTP edge of every client.

RPC-style calls (`call`: ECS, and STS in shared.ecs.sts with its own `api_version`, `endpoint_for` and
`error_type`) and ROA-style ones (`call_roa`: FC's InvokeFunction through `AsyncInvoker`, ListTriggers through
`TriggerLister`) share the signer, the per-endpoint request template, the timeouts and the error mapping. A
single attempt, no retries (callers retry through shared.ecs.retry). Every failure becomes the transport's
`error_type`, an `ApiError`; the transport never lets a secret reach a message.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from urllib3 import exceptions as urllib3_errors

from shared.ecs import signer
from shared.ecs.credentials import Credentials, CredentialsProvider
from shared.ecs.models import ApiErrorBody
from shared.errors import CODE_CONNECT_FAILED, CODE_CONNECTION, CODE_MALFORMED, CODE_TIMEOUT, ApiError, EcsApiError
from shared.region_ids import checked_region_id
from shared.timefmt import utc_now

ECS_API_VERSION = "2014-05-26"
SignatureVersion = Literal["v1", "v3"]
USER_AGENT = "ecs-tasks/0.1 (+requests)"
REQUEST_ID_HEADER = "x-acs-request-id"
ACCEPT_HEADER = "Accept"
JSON_MEDIA_TYPE = "application/json"
RETRY_AFTER_HEADER = "x-acs-retry-after"  # milliseconds
# The official SDK never waits longer than this on a retry-after hint.
MAX_RETRY_AFTER_MS = 120_000


def random_nonce() -> str:
    return secrets.token_hex(16)


def regional_endpoint(region_id: str) -> str:
    """The public endpoint of a region. Only a region id may become part of the host name: anything else
    (`x@127.0.0.1:PORT/#` would send signed requests, STS token included, to another host) is refused."""
    return f"https://ecs.{checked_region_id(region_id)}.aliyuncs.com"


@dataclass(frozen=True)
class Endpoint:
    """What is fixed per endpoint, worked out once rather than on every call: the signed `host` (which must
    equal what we connect to), the path, and the proxy and CA settings `requests` would otherwise look up in
    the environment on each request."""

    url: str
    host: str
    path: str
    proxies: dict[str, str]
    verify: bool | str
    # A request prepared once (method, URL, fixed headers, empty body); each call starts from its parts.
    template: requests.PreparedRequest

    @classmethod
    def of(cls, base_url: str, headers: Mapping[str, str | bytes]) -> Endpoint:
        parts = urlsplit(base_url)
        path = parts.path.rstrip("/") + "/"
        url = f"{parts.scheme}://{parts.netloc}{path}"
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        return cls(
            url=url,
            host=parts.netloc,
            path=path,
            proxies=requests.utils.get_environ_proxies(base_url),
            verify=bundle or True,
            template=requests.Request("POST", url, headers=dict(headers)).prepare(),
        )

    def request(self, query: str, headers: Mapping[str, str]) -> requests.PreparedRequest:
        """This endpoint's request with a query and signed headers. The query is already percent-encoded
        (canonical, ASCII) and the headers are our own, so requests' URL and header preparation, the costly
        part of a call, is done once in `template`, not again here."""
        return self._prepared(f"{self.url}?{query}" if query else str(self.template.url), headers, None)

    def resource(
        self, pathname: str, query: str, headers: Mapping[str, str], body: bytes, method: str = "POST"
    ) -> requests.PreparedRequest:
        """An ROA request: this endpoint's origin with the resource's path, a query, signed headers, a body."""
        url = f"{self.url[: -len(self.path)]}{pathname}" + (f"?{query}" if query else "")
        return self._prepared(url, {**headers, "Content-Length": str(len(body))}, body, method)

    def _prepared(
        self, url: str, headers: Mapping[str, str], body: bytes | None, method: str | None = None
    ) -> requests.PreparedRequest:
        # A new PreparedRequest from the template's parts, not `template.copy()`: that also copies the empty
        # cookie jar `prepare` made, a third of the cost of this step (session cookies are never sent).
        prepared = requests.PreparedRequest()
        prepared.method = method or self.template.method
        prepared.url = url
        prepared.headers = self.template.headers.copy()
        prepared.headers.update(headers)
        prepared.body = body
        return prepared


# HTTP/1.1 connections persist without `Connection: keep-alive`: that default session header is not sent, one
# header fewer to write on every call.
_UNSENT_SESSION_HEADERS = frozenset({"connection"})


def _sent_headers(session_headers: Mapping[str, str | bytes]) -> dict[str, str | bytes]:
    return {name: value for name, value in session_headers.items() if name.lower() not in _UNSENT_SESSION_HEADERS}


class ApiAdapter(HTTPAdapter):
    """requests' adapter for signed API calls, less three steps of every `send` they never use, through the
    hooks requests documents for subclasses: the URL to send is the path alone unless a proxy is in the way
    (the parent works that out with two URL parses per call); a connection pool's key (scheme, host, port
    and TLS settings) is worked out once per origin, not with two more URL parses, and a stat of the CA
    bundle when one is set, on every call; and no cookies are read from answers (the signed requests never
    send any)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pool_keys: dict[tuple[str, Any, Any], tuple[Any, Any]] = {}

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> Any:
        if proxies:
            return super().get_connection_with_tls_context(request, verify, proxies, cert)
        key = (_origin(str(request.url)), verify, cert)
        pool_key = self._pool_keys.get(key)
        if pool_key is None:
            pool_key = self._pool_keys[key] = self.build_connection_pool_key_attributes(request, verify, cert)
        host_params, pool_kwargs = pool_key
        # The pool manager's own look-up: it keeps, replaces and closes pools as it always does.
        return self.poolmanager.connection_from_host(**host_params, pool_kwargs=pool_kwargs)

    def request_url(self, request: requests.PreparedRequest, proxies: Mapping[str, str] | None) -> str:
        return request.path_url if not proxies else super().request_url(request, proxies)

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = CaseInsensitiveDict(resp.headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = str(req.url)
        response.request = req
        response.connection = self
        return response


def _origin(url: str) -> str:
    """`scheme://host:port` of an absolute URL: all of it that a connection pool's key depends on."""
    end = url.find("/", url.find("//") + 2)
    return url if end < 0 else url[:end]


@dataclass(frozen=True)
class ApiResponse:
    body: dict[str, Any]
    request_id: str
    http_status: int


class ApiTransport:
    """Signs and sends one request to one Alibaba Cloud API; the endpoint, clock and nonce are injectable."""

    def __init__(
        self,
        credentials: CredentialsProvider,
        *,
        endpoint: str | None = None,
        signature_version: SignatureVersion = "v3",
        session: requests.Session | None = None,
        clock: Callable[[], datetime] = utc_now,
        nonce: Callable[[], str] = random_nonce,
        api_version: str = ECS_API_VERSION,
        endpoint_for: Callable[[str], str] = regional_endpoint,
        error_type: type[ApiError] = EcsApiError,
    ) -> None:
        self._credentials = credentials
        self._endpoint = endpoint.rstrip("/") if endpoint else None
        self._signature_version = signature_version
        self._session = session or requests.Session()
        self._session.headers["User-Agent"] = USER_AGENT
        # The environment is read once per endpoint (Endpoint.of), not on every request.
        self._session.trust_env = False
        self._clock = clock
        self._nonce = nonce
        self._api_version = api_version
        self._endpoint_for = endpoint_for
        self._error_type = error_type
        self._endpoints: dict[str, Endpoint] = {}

    @property
    def signature_version(self) -> SignatureVersion:
        return self._signature_version

    def base_url(self, region_id: str) -> str:
        """A fixed endpoint (ECS_ENDPOINT) as is; otherwise the region's, which checks the region id."""
        return self._endpoint or self._endpoint_for(region_id)

    def _endpoint_of(self, base_url: str) -> Endpoint:
        endpoint = self._endpoints.get(base_url)
        if endpoint is None:
            endpoint = self._endpoints[base_url] = Endpoint.of(base_url, _sent_headers(self._session.headers))
        return endpoint

    def call(
        self,
        action: str,
        region_id: str,
        params: Mapping[str, str],
        *,
        timeout: float | tuple[float, float],
    ) -> ApiResponse:
        creds = self._credentials.get()
        endpoint = self._endpoint_of(self.base_url(region_id))
        host, path = endpoint.host, endpoint.path
        if self._signature_version == "v1":
            query = signer.v1_signed_params(
                action=action,
                version=self._api_version,
                params=params,
                access_key_id=creds.access_key_id,
                access_key_secret=creds.access_key_secret,
                security_token=creds.security_token,
                timestamp=self._clock(),
                nonce=self._nonce(),
                method="POST",
            )
            headers: dict[str, str] = {}
        else:
            query = dict(params)
            headers = signer.v3_signed_headers(
                method="POST",
                host=host,
                pathname=path,
                query=query,
                action=action,
                version=self._api_version,
                body=b"",
                access_key_id=creds.access_key_id,
                access_key_secret=creds.access_key_secret,
                security_token=creds.security_token,
                timestamp=self._clock(),
                nonce=self._nonce(),
            )
            # As the official SDK sends it (alibabacloud_tea_openapi: `accept: application/json`); unsigned.
            headers[ACCEPT_HEADER] = JSON_MEDIA_TYPE
        prepared = endpoint.request(signer.canonical_query(query), headers)
        response, content = self._send(prepared, endpoint, timeout, region_id)
        return _parse(response, content, region_id, creds, self._error_type)

    def call_roa(
        self,
        action: str,
        pathname: str,
        *,
        body: bytes,
        content_type: str,
        signed_headers: Mapping[str, str],
        query: Mapping[str, str],
        accepted: frozenset[int],
        request_id_header: str,
        timeout: float | tuple[float, float],
        method: str = "POST",
    ) -> ApiResponse:
        """One ROA-style request (the resource in `pathname`, the payload in `body`), signed V3 as every ROA
        API requires, on the fixed endpoint. Any status but an `accepted` one is an error; a successful
        answer's body, when it has one (InvokeFunction's asynchronous answer has none, ListTriggers' has), must
        be a JSON object."""
        creds = self._credentials.get()
        endpoint = self._endpoint_of(self.base_url(""))
        headers = signer.v3_signed_headers(
            method=method,
            host=endpoint.host,
            pathname=pathname,
            query=query,
            action=action,
            version=self._api_version,
            body=body,
            access_key_id=creds.access_key_id,
            access_key_secret=creds.access_key_secret,
            security_token=creds.security_token,
            timestamp=self._clock(),
            nonce=self._nonce(),
            content_type=content_type,
            extra_headers=signed_headers,
        )
        headers[ACCEPT_HEADER] = JSON_MEDIA_TYPE
        prepared = endpoint.resource(pathname, signer.canonical_query(query), headers, body, method)
        response, content = self._send(prepared, endpoint, timeout, None)
        request_id = response.headers.get(request_id_header) or response.headers.get(REQUEST_ID_HEADER, "")
        if response.status_code not in accepted:
            raise _error(response, _error_body(content), request_id, None, creds, self._error_type)
        if not content:
            return ApiResponse({}, request_id, response.status_code)
        try:
            answer = json.loads(content)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise self._error_type(
                CODE_MALFORMED,
                f"the answer was not a JSON object ({len(content)} bytes)",
                request_id=request_id or None,
                http_status=response.status_code,
            )
        return ApiResponse(answer, request_id, response.status_code)

    def _send(
        self,
        prepared: requests.PreparedRequest,
        endpoint: Endpoint,
        timeout: float | tuple[float, float],
        region_id: str | None,
    ) -> tuple[requests.Response, bytes]:
        """The answer and its whole body, read within this attempt's timeout."""
        host = endpoint.host
        read_s = timeout[-1] if isinstance(timeout, tuple) else timeout  # the read timeout: it had connected
        try:
            # The session's adapter (its connection pool), not Session.send: the endpoint settled what the
            # session would merge, redirects are not followed, and the session's cookies are never sent (the
            # template was not prepared by the session), so there is nothing of Session.send's left to do.
            response = self._session.get_adapter(endpoint.url).send(
                prepared, stream=True, timeout=timeout, verify=endpoint.verify, cert=None, proxies=endpoint.proxies
            )
            # The body in one read of the raw answer (requests' `raw`, for a response streamed as this one
            # is), not through `content`'s generator of 10 kB chunks: an answer is a few kB. A whole read
            # gives the connection back to the pool.
            return response, response.raw.read(decode_content=True)
        except requests.ConnectTimeout as exc:
            error = self._error_type
            raise error(CODE_CONNECT_FAILED, f"could not connect to {host} in time", region_id=region_id) from exc
        except (requests.Timeout, urllib3_errors.ReadTimeoutError) as exc:
            raise self._error_type(CODE_TIMEOUT, f"no answer within {read_s:.1f} s", region_id=region_id) from exc
        except requests.ConnectionError as exc:
            code = CODE_CONNECT_FAILED if _never_connected(exc) else CODE_CONNECTION
            message = f"could not reach {host}: {type(exc).__name__}"
            raise self._error_type(code, message, region_id=region_id) from exc
        except (urllib3_errors.ProtocolError, urllib3_errors.SSLError) as exc:  # broken while the body was read
            message = f"the answer from {host} was cut off: {type(exc).__name__}"
            raise self._error_type(CODE_CONNECTION, message, region_id=region_id) from exc
        except urllib3_errors.DecodeError as exc:  # a compressed body that does not decompress
            message = f"the answer from {host} could not be decoded: {type(exc).__name__}"
            raise self._error_type(CODE_MALFORMED, message, region_id=region_id) from exc


def _parse(
    response: requests.Response,
    content: bytes,
    region_id: str,
    credentials: Credentials,
    error_type: type[ApiError] = EcsApiError,
) -> ApiResponse:
    header_request_id = response.headers.get(REQUEST_ID_HEADER, "")
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise error_type(
            CODE_MALFORMED,
            f"the answer was not a JSON object ({len(content)} bytes)",
            request_id=header_request_id or None,
            http_status=response.status_code,
            region_id=region_id,
        )
    if response.status_code >= 400:
        raise _error(response, body, header_request_id, region_id, credentials, error_type)
    return ApiResponse(body, str(body.get("RequestId") or header_request_id), response.status_code)


def _error_body(content: bytes) -> dict[str, Any]:
    """An ROA error's JSON object, its field names as RPC's (FC 3.0 has been seen to send `code`, `message`);
    empty when the answer is not one."""
    try:
        body = json.loads(content)
    except ValueError:
        return {}
    if not isinstance(body, dict):
        return {}
    return {_ROA_FIELDS.get(str(name), str(name)): value for name, value in body.items()}


_ROA_FIELDS = {"code": "Code", "message": "Message", "requestId": "RequestId"}


def _error(
    response: requests.Response,
    body: dict[str, Any],
    header_request_id: str,
    region_id: str | None,
    credentials: Credentials,
    error_type: type[ApiError],
) -> ApiError:
    error = ApiErrorBody.model_validate(body)
    return error_type(
        error.code or f"HTTP{response.status_code}",
        safe_message(error.message or response.reason or "", credentials),
        request_id=error.request_id or header_request_id or None,
        http_status=response.status_code,
        recommend=error.recommend,
        region_id=region_id,
        retry_after_s=_retry_after(response.headers),
    )


def _never_connected(error: requests.ConnectionError) -> bool:
    """True when the connection itself failed (refused, unresolvable), so nothing was sent."""
    reason = getattr(error.args[0], "reason", None) if error.args else None
    return isinstance(reason, urllib3_errors.NewConnectionError)


# SignatureDoesNotMatch quotes the server's string to sign, which holds the AccessKeyId and, with V1 and STS,
# the security token: everything from there on stays out of our messages (they reach logs and Slack).
_STRING_TO_SIGN = re.compile(r"(string[ _-]?to[ _-]?sign|stringtosign).*", re.IGNORECASE | re.DOTALL)


def safe_message(message: str, credentials: Credentials) -> str:
    """An API error message fit to show: no string to sign, no credential value."""
    text = _STRING_TO_SIGN.sub("(string to sign withheld)", message)
    for secret in (credentials.access_key_secret, credentials.security_token):
        if secret:
            text = text.replace(secret, "[redacted]")
    return text


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from `x-acs-retry-after`, which carries milliseconds: the official SDK reads it so
    (`alibabacloud_tea_openapi.utils.get_throttling_time_left`: a positive integer, else none), sleeps
    `ms / 1000` and caps the wait at 120 s (`darabonba.policy.retry.MAX_DELAY_TIME`)."""
    raw = headers.get(RETRY_AFTER_HEADER)
    if raw is None:
        return None
    try:
        milliseconds = int(raw.strip())
    except ValueError:
        return None
    if milliseconds <= 0:
        return None
    return min(milliseconds, MAX_RETRY_AFTER_MS) / 1000.0
