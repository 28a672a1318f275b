"""Errors the SDK raises; every one is a ``ClientError``.

    ClientError
    ├── ApiError              the node answered with an error (status, code, message)
    │   ├── Unauthorized      401: the token is no longer valid (device revoked)
    │   ├── Forbidden         403
    │   ├── NotFound          404
    │   ├── Conflict          409
    │   ├── RateLimited       429, with ``retry_after`` (seconds)
    │   ├── ServerError       5xx
    │   └── BadResponse       an answer that is not the node's JSON (a proxy's error page)
    ├── ConnectionFailed      the node could not be reached, or the connection broke
    ├── DeliveryFailed        a message did not reach its recipient (also an event)
    ├── StoreError            the local store cannot be opened
    ├── VerificationError     a signature, key pin or hash did not check
    └── ContentError          malformed message content

``is_transient`` says which failures are worth retrying (connection, 5xx, a garbled
answer, 429): ``Client.events()`` rides them out by itself.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Root of the SDK's errors."""


class ApiError(ClientError):
    """The node answered with an error: HTTP status, machine code, message, details."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.details = details or {}


class Unauthorized(ApiError):
    """401: the device's token is not (or no longer) valid."""


class DeviceRevoked(Unauthorized):
    """401 ``DEVICE_REVOKED``: the node logged out or revoked this device, or removed its
    account (also while it was offline). By the time the app sees this error the SDK has
    deleted the device's local store (``Client.wiped``); a copy taken before cannot be
    wiped. The device cannot be used again: log in for a new one."""


class Forbidden(ApiError):
    """403: this account may not do that."""


class NotFound(ApiError):
    """404: no such account, device, media, product, ..."""


class Conflict(ApiError):
    """409: the request conflicts with what exists (taken name, changed devices, ...)."""


class RateLimited(ApiError):
    """429: too many requests; ``retry_after`` is how many seconds to wait."""

    def __init__(self, status: int, code: str, message: str,
                 details: dict[str, Any] | None = None, retry_after: float = 1.0) -> None:
        super().__init__(status, code, message, details)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the node (or a proxy before it) failed; retrying later may work."""


class BadResponse(ApiError):
    """The answer is not the node's JSON (a proxy's HTML error page, a cut-off body)."""


class ConnectionFailed(ClientError):
    """The node could not be reached, or the connection broke or timed out."""


class DeliveryFailed(ClientError):
    """A message was not delivered. Raised by ``send`` when it cannot be sent, and
    yielded by ``events()`` when the node reports a sent message as undeliverable
    (``reason``: ``EXPIRED``, ``UNKNOWN_ACCOUNT``, ``BLOCKED``, ...)."""

    def __init__(self, message: str, *, message_id: str = "", to: str = "",
                 reason: str = "", ts: int = 0) -> None:
        super().__init__(message)
        self.message_id, self.to, self.reason, self.ts = message_id, to, reason, ts

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeliveryFailed) and (
            (self.message_id, self.to, self.reason, self.ts)
            == (other.message_id, other.to, other.reason, other.ts))

    def __hash__(self) -> int:
        return hash((self.message_id, self.to, self.reason, self.ts))


class StoreError(ClientError):
    """The local store cannot be opened (wrong passphrase, damaged or foreign file)."""


class VerificationError(ClientError):
    """A signature, fingerprint or hash did not check."""


class ContentError(ClientError):
    """A decrypted message is not valid content, or content to send is malformed."""


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized, 403: Forbidden, 404: NotFound, 409: Conflict}


def api_error(status: int, code: str, message: str, details: dict[str, Any] | None = None,
              retry_after: float | None = None) -> ApiError:
    """The ``ApiError`` subclass for an HTTP error answer."""
    details = details or {}
    if status == 429:
        if retry_after is None:
            ms = details.get("retry_after_ms")
            retry_after = ms / 1000 if isinstance(ms, int) and ms > 0 else 1.0
        return RateLimited(status, code, message, details, retry_after)
    if status >= 500:
        return ServerError(status, code, message, details)
    if status == 401 and code == "DEVICE_REVOKED":
        return DeviceRevoked(status, code, message, details)
    return _BY_STATUS.get(status, ApiError)(status, code, message, details)


def is_transient(exc: BaseException) -> bool:
    """Whether retrying later may succeed (connection, 5xx, garbled answer, 429)."""
    return isinstance(exc, ConnectionFailed | ServerError | BadResponse | RateLimited)


def retry_delay(exc: BaseException, backoff: float) -> float:
    """How long to wait before retrying after ``exc``: the node's ``Retry-After`` for a
    429, else the caller's backoff."""
    return exc.retry_after if isinstance(exc, RateLimited) else backoff
