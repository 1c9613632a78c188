"""Typed exceptions. Every failure is a :class:`StunApiError` carrying ``code`` (the REST API's stable
error code, or one of the client's own), ``status`` (the HTTP status, 0 when no HTTP answer said so)
and ``message``. Subclasses group the common cases so callers can ``except NotFoundError``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


class StunApiError(Exception):
    """A failure with a stable ``code`` to match on, the HTTP ``status`` (0 when the client raised it
    itself) and a human ``message``; ``details`` holds the server's structured details, if any."""

    def __init__(self, status: int, code: str, message: str, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def __str__(self) -> str:
        return f"{self.code}: {self.message}" + (f" (HTTP {self.status})" if self.status else "")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, code={self.code!r}, message={self.message!r})"

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message, "status": self.status}
        if self.details:
            error["details"] = self.details
        return {"error": error}


class ValidationError(StunApiError):
    """400: the request fails its schema or the model's signature (VALIDATION_FAILED, INPUT_*, TENSOR_INVALID, …)."""


class AuthenticationError(StunApiError):
    """401: missing, unknown, revoked or expired API key (UNAUTHORIZED, KEY_REVOKED, KEY_EXPIRED)."""


class InsufficientFundsError(StunApiError):
    """402 INSUFFICIENT_FUNDS: the escrow hold or stake exceeds the balance."""


class PermissionDeniedError(StunApiError):
    """403: the key lacks the scope the call needs (KEY_SCOPE, FORBIDDEN)."""


class NotFoundError(StunApiError):
    """404: TASK_NOT_FOUND, MODEL_NOT_FOUND, NOT_FOUND."""


class ConflictError(StunApiError):
    """409: STAKE_LOCKED, EVIDENCE_STALE, WALLET_*, CONFLICT."""


class GoneError(StunApiError):
    """410 TASK_DATA_EXPIRED: the task's inputs and outputs were deleted."""


class PayloadTooLargeError(StunApiError):
    """413: PAYLOAD_TOO_LARGE, STORAGE_QUOTA."""


class RateLimitError(StunApiError):
    """429 RATE_LIMITED (after the client's retries); ``retry_after`` in seconds when the server said."""

    @property
    def retry_after(self) -> float | None:
        v = self.details.get("retryAfterSeconds")
        return float(v) if isinstance(v, (int, float)) else None


class ServerError(StunApiError):
    """5xx: INTERNAL, UNAVAILABLE, or a proxy's error page (after the client's retries)."""


class NetworkError(StunApiError):
    """NETWORK_ERROR: no HTTP answer (refused, reset, DNS)."""


class StunTimeoutError(StunApiError, TimeoutError):
    """TIMEOUT: no answer within the request's timeout, or a task not finished within the wait."""


class BadResponseError(StunApiError):
    """BAD_RESPONSE: a 2xx answer whose body is not what the REST contract says."""


class TaskFailedError(StunApiError):
    """TASK_FAILED: the task ended ``failed``; ``details['taskCode']`` holds the server's reason code."""


class TaskExpiredError(StunApiError):
    """TASK_EXPIRED: the task's deadline passed before it completed."""


class InputMismatchError(StunApiError, ValueError):
    """An input that does not fit the model's signature or its dtype, refused before anything is sent
    (status 0; the same codes the server uses: INPUT_MISSING, INPUT_UNKNOWN, INPUT_DTYPE_MISMATCH,
    INPUT_SHAPE_MISMATCH, INPUT_SIZE_MISMATCH, TENSOR_INVALID)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(0, code, message)


_BY_STATUS: dict[int, type[StunApiError]] = {
    400: ValidationError,
    401: AuthenticationError,
    402: InsufficientFundsError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    410: GoneError,
    413: PayloadTooLargeError,
    429: RateLimitError,
}

_CLIENT_CODES: dict[str, type[StunApiError]] = {
    "NETWORK_ERROR": NetworkError,
    "TIMEOUT": StunTimeoutError,
    "BAD_RESPONSE": BadResponseError,
    "TASK_FAILED": TaskFailedError,
    "TASK_EXPIRED": TaskExpiredError,
}


def make_error(status: int, code: str, message: str, details: Mapping[str, Any] | None = None) -> StunApiError:
    """The exception class for a status and code (a subclass of StunApiError)."""
    cls = _CLIENT_CODES.get(code) if status == 0 else _BY_STATUS.get(status)
    if cls is None and status >= 500:
        cls = ServerError
    return (cls or StunApiError)(status, code, message, details)


def error_from_response(status: int, body: bytes, reason: str = "") -> StunApiError:
    """A non-2xx answer as an exception: a Stun error body gives its code and message; anything else
    (a proxy's HTML page, an empty body) gives HTTP_ERROR with the start of the body."""
    try:
        parsed: Any = json.loads(body) if body else None
    except ValueError:
        parsed = None
    err = parsed.get("error") if isinstance(parsed, dict) else None
    if isinstance(err, dict) and isinstance(err.get("code"), str) and err["code"]:
        message = err.get("message") if isinstance(err.get("message"), str) and err.get("message") else f"{status} {reason}".strip()
        details = err.get("details") if isinstance(err.get("details"), dict) else None
        return make_error(status, err["code"], str(message), details)
    snippet = " ".join(body.decode("utf-8", "replace").split())[:200]
    head = f"HTTP {status}{' ' + reason if reason else ''}"
    return make_error(status, "HTTP_ERROR", f"{head}: {snippet}" if snippet else head)
