"""One error hierarchy for everything in crypto/.

Every public function names what it raises; all of it derives from CryptoError, so a
caller that only wants "the crypto refused this" catches one class.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Root of every error raised by crypto/."""


class EncodingError(CryptoError):
    """Text is not strict unpadded base64url, or decodes to the wrong length."""


class CanonicalJsonError(CryptoError):
    """A value cannot be written as, or text is not, strict canonical JSON."""


class InvalidKey(CryptoError):
    """A key has the wrong size, or an X25519 exchange gave the all-zero output."""


class SignatureError(CryptoError):
    """A signature is missing, malformed or does not verify."""


class BundleError(CryptoError):
    """A key document or prekey bundle has the wrong shape or a bad signature."""


class DecryptionError(CryptoError):
    """A message was altered, truncated, malformed or encrypted under another key."""


class DuplicateMessage(DecryptionError):
    """The message key was already used: the message is a replay."""


class TooManySkipped(DecryptionError):
    """Decrypting would skip more message keys than the ratchet allows."""


class SessionStateError(CryptoError):
    """Serialised state is malformed, or the session cannot do what was asked."""


class MessageTooLarge(CryptoError):
    """A plaintext is larger than a session message may carry."""


class MediaError(CryptoError):
    """An encrypted media stream is truncated, altered, or fails its hash or size."""


class HistoryError(CryptoError):
    """A sealed history copy that is malformed, or history arguments out of range."""
