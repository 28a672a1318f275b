"""Errors the SDK raises."""

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


class StoreError(ClientError):
    """The local store cannot be opened (wrong passphrase, damaged or foreign file)."""


class VerificationError(ClientError):
    """A signature, fingerprint or hash did not check."""


class ContentError(ClientError):
    """A decrypted message is not valid content, or content to send is malformed."""


class DeliveryError(ClientError):
    """A message could not be sent (devices kept changing, or the node refused it)."""
