"""The service's error answers: code, HTTP status and message, as ECS sends them."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class ServiceError(Exception):
    """Raised anywhere in request handling; the server renders it as the error body."""

    status: int
    code: str
    message: str
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


# --- authentication -------------------------------------------------------------------------

INCOMPLETE_SIGNATURE = "IncompleteSignature"
ACCESS_KEY_NOT_FOUND = "InvalidAccessKeyId.NotFound"
SIGNATURE_MISMATCH = "SignatureDoesNotMatch"
NONCE_USED = "SignatureNonceUsed"
TIMESTAMP_EXPIRED = "InvalidTimeStamp.Expired"
TIMESTAMP_FORMAT = "InvalidTimeStamp.Format"
# STS: the codes the gateway uses for a token that is absent or belongs to another key.
SECURITY_TOKEN_MISSING = "MissingSecurityToken"
SECURITY_TOKEN_MISMATCH = "InvalidSecurityToken.MismatchWithAccessKey"


def incomplete_signature(detail: str) -> ServiceError:
    return ServiceError(
        400, INCOMPLETE_SIGNATURE, f"The request signature does not conform to Aliyun standards. {detail}"
    )


def access_key_not_found() -> ServiceError:
    return ServiceError(404, ACCESS_KEY_NOT_FOUND, "Specified access key is not found.")


def signature_mismatch(string_to_sign: str) -> ServiceError:
    # The real message quotes the server's string to sign, which helps debug a client signer.
    return ServiceError(
        400,
        SIGNATURE_MISMATCH,
        f"Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}",
    )


def content_sha256_mismatch() -> ServiceError:
    return ServiceError(
        400,
        SIGNATURE_MISMATCH,
        "Specified signature is not matched with our calculation. "
        "The x-acs-content-sha256 header does not match the SHA-256 of the request body.",
    )


def nonce_used() -> ServiceError:
    return ServiceError(400, NONCE_USED, "Specified signature nonce was used already.")


def timestamp_expired() -> ServiceError:
    return ServiceError(400, TIMESTAMP_EXPIRED, "Specified time stamp or date value is expired.")


def timestamp_format() -> ServiceError:
    return ServiceError(400, TIMESTAMP_FORMAT, "Specified time stamp or date value is not well formatted.")


def security_token_missing() -> ServiceError:
    return ServiceError(400, SECURITY_TOKEN_MISSING, "SecurityToken is mandatory for this action.")


def security_token_mismatch() -> ServiceError:
    return ServiceError(400, SECURITY_TOKEN_MISMATCH, "Specified SecurityToken mismatch with the AccessKey.")


# --- request --------------------------------------------------------------------------------

MISSING_PARAMETER = "MissingParameter"
INVALID_PARAMETER = "InvalidParameter"
INVALID_REGION = "InvalidRegionId.NotFound"
INVALID_ACTION = "InvalidAction.NotFound"
INVALID_VERSION = "InvalidVersion"


def missing_parameter(name: str) -> ServiceError:
    return ServiceError(
        400,
        MISSING_PARAMETER,
        f'An input parameter "{name}" that is mandatory for processing the request is not supplied.',
    )


def invalid_parameter(name: str, detail: str = "") -> ServiceError:
    message = f'The specified parameter "{name}" is not valid.'
    return ServiceError(400, INVALID_PARAMETER, f"{message} {detail}" if detail else message)


def invalid_region() -> ServiceError:
    return ServiceError(400, INVALID_REGION, "The specified RegionId does not exist.")


def invalid_action() -> ServiceError:
    return ServiceError(404, INVALID_ACTION, "Specified api is not found, please check your url and method.")


def invalid_version() -> ServiceError:
    return ServiceError(400, INVALID_VERSION, "Specified parameter Version is not valid.")


# --- tasks ----------------------------------------------------------------------------------

TASK_NOT_FOUND = "InvalidTaskId.NotFound"
TASK_ACTION_NOT_SUPPORTED = "InvalidTaskId.TaskActionNotSupport"
TASK_INCORRECT_STATUS = "InvalidTaskId.IncorrectTaskStatus"


def task_not_found() -> ServiceError:
    return ServiceError(400, TASK_NOT_FOUND, "The specified TaskId is not found.")


def task_action_not_supported() -> ServiceError:
    return ServiceError(403, TASK_ACTION_NOT_SUPPORTED, "The specified task action does not support cancel.")


def task_incorrect_status() -> ServiceError:
    return ServiceError(403, TASK_INCORRECT_STATUS, "The current status of the task does not support this operation.")


# --- injected faults ------------------------------------------------------------------------

THROTTLING_USER = "Throttling.User"
SERVICE_UNAVAILABLE = "ServiceUnavailable"
INTERNAL_ERROR = "InternalError"
RETRY_AFTER_HEADER = "x-acs-retry-after"


def throttled(retry_after_ms: int | None) -> ServiceError:
    # x-acs-retry-after carries milliseconds, as the official SDK reads it (get_throttling_time_left).
    headers = {RETRY_AFTER_HEADER: str(retry_after_ms)} if retry_after_ms is not None else {}
    return ServiceError(400, THROTTLING_USER, "Request was denied due to user flow control.", headers)


def service_unavailable() -> ServiceError:
    return ServiceError(503, SERVICE_UNAVAILABLE, "The request has failed due to a temporary failure of the server.")


def internal_error() -> ServiceError:
    return ServiceError(
        500, INTERNAL_ERROR, "The request processing has failed due to some unknown error, exception or failure."
    )
