"""The node's one error hierarchy.

Services raise ``KontorError`` subclasses; ``node.middlewares.error_middleware`` is the
one place that turns them into ``{"error": {"code": ..., "message": ...}}`` responses.
Anything else that escapes a handler is logged and answered with a bare 500.
"""

from __future__ import annotations

from typing import Any


class KontorError(Exception):
    """An error a client or peer can be told about: HTTP status, code, message."""

    status = 400
    code = "BAD_REQUEST"

    def __init__(self, message: str, *, code: str | None = None,
                 details: dict[str, Any] | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details or {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.details)
        return {"error": body}


class BadRequest(KontorError):
    status, code = 400, "BAD_REQUEST"


class InvalidJson(BadRequest):
    code = "INVALID_JSON"


class InvalidParameter(BadRequest):
    code = "INVALID_PARAMETER"


class InvalidText(BadRequest):
    """A string that is not valid Unicode text, or a name with unreadable characters;
    ``details["field"]`` names it."""

    code = "INVALID_TEXT"


class Unauthorized(KontorError):
    status, code = 401, "UNAUTHORIZED"


class DeviceRevoked(Unauthorized):
    """The device was logged out, revoked or its account removed while in use."""

    code = "DEVICE_REVOKED"

    def __init__(self, message: str = "this device was logged out or revoked; log in "
                 "again") -> None:
        super().__init__(message)


class Forbidden(KontorError):
    status, code = 403, "FORBIDDEN"


class NotFound(KontorError):
    status, code = 404, "NOT_FOUND"


class MethodNotAllowed(KontorError):
    status, code = 405, "METHOD_NOT_ALLOWED"


class Conflict(KontorError):
    status, code = 409, "CONFLICT"


class PayloadTooLarge(KontorError):
    status, code = 413, "TOO_LARGE"


class BodyTimeout(KontorError):
    """The client stopped sending a request body (or took too long for all of it)."""

    status, code = 408, "BODY_TIMEOUT"

    def __init__(self, seconds: float, what: str = "no part of the request body arrived "
                 "for") -> None:
        super().__init__(f"{what} {seconds:g} seconds")


class UnsupportedMediaType(KontorError):
    status, code = 415, "UNSUPPORTED_MEDIA_TYPE"


class RateLimited(KontorError):
    status, code = 429, "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after_ms: int) -> None:
        super().__init__(message, details={"retry_after_ms": retry_after_ms})
        self.retry_after_ms = retry_after_ms


class StorageFull(KontorError):
    """The disk (or SQLite's size limit) is full: nothing of the request was stored."""

    status, code = 507, "STORAGE_FULL"

    def __init__(self, message: str = "the node's storage is full; nothing was stored. "
                 "Retry later (the operator has to free space)") -> None:
        super().__init__(message)


class Unavailable(KontorError):
    status, code = 503, "UNAVAILABLE"


class ShuttingDown(Unavailable):
    """The node is stopping: nothing more is read or written; retry in a moment."""

    code = "SHUTTING_DOWN"

    def __init__(self, message: str = "the node is shutting down; retry in a moment"
                 ) -> None:
        super().__init__(message)


class ConfigError(Exception):
    """A configuration problem, located by file, section and key."""

    def __init__(self, file: str, section: str | None, key: str | None, problem: str) -> None:
        self.file, self.section, self.key, self.problem = file, section, key, problem
        where = file
        if section:
            where += f": [{section}]"
        if key:
            where += f" {key}"
        super().__init__(f"{where}: {problem}")
