"""The node's Ed25519 signing key: created once, stored 0600, never overwritten.

File format (one line, like Synapse's signing key files)::

    ed25519 <key id> <unpadded base64url 32-byte seed>

Only the current key's private half is kept on disk; the public halves of old keys stay
in the database so that peers can still verify what they signed until they expire.
"""

from __future__ import annotations

import base64
import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import nacl.signing

KEY_FILE_NAME = "signing.key"


class KeyFileError(Exception):
    """The key file is missing, malformed or readable by others."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id_for(public_key: bytes) -> str:
    """``ed25519:`` and the first 8 characters of base64url(SHA-256(public key))."""
    return "ed25519:" + _b64(hashlib.sha256(public_key).digest())[:8]


@dataclass(frozen=True)
class NodeKey:
    """The node's current signing key."""

    key_id: str
    signing_key: nacl.signing.SigningKey

    @property
    def public_key(self) -> bytes:
        return bytes(self.signing_key.verify_key)

    @property
    def public_key_b64(self) -> str:
        return _b64(self.public_key)

    @property
    def seed(self) -> bytes:
        """The 32-byte private seed (for ``crypto.keys.SigningKey.from_seed``)."""
        return bytes(self.signing_key)

    def sign(self, message: bytes) -> bytes:
        """Detached Ed25519 signature of ``message``."""
        return self.signing_key.sign(message).signature

    @classmethod
    def generate(cls) -> NodeKey:
        sk = nacl.signing.SigningKey.generate()
        return cls(key_id_for(bytes(sk.verify_key)), sk)


def key_path(data_dir: Path) -> Path:
    return data_dir / "keys" / KEY_FILE_NAME


def write_key(path: Path, key: NodeKey, *, replace: bool = False) -> None:
    """Write ``key`` to ``path`` with mode 0600 (atomically; refuses to overwrite
    unless ``replace``)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    line = f"ed25519 {key.key_id.split(':', 1)[1]} {_b64(bytes(key.signing_key))}\n"
    tmp = path.with_name(path.name + ".new")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(line)
        fh.flush()
        os.fsync(fh.fileno())
    if replace:
        os.replace(tmp, path)
    else:
        try:
            os.link(tmp, path)
        finally:
            tmp.unlink()


def load_key(path: Path) -> NodeKey:
    """Read the key at ``path``; refuses files that others can read."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise KeyFileError(f"{path}: no signing key; run `kontor init` first") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: cannot read the signing key: {exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: readable by others (mode {oct(mode & 0o777)}); "
                           f"run `chmod 600 {path}`")
    parts = text.split()
    if len(parts) != 3 or parts[0] != "ed25519":
        raise KeyFileError(f"{path}: not a Kontor signing key file")
    try:
        seed = _unb64(parts[2])
        sk = nacl.signing.SigningKey(seed)
    except Exception:
        raise KeyFileError(f"{path}: the key material is malformed") from None
    key = NodeKey(key_id_for(bytes(sk.verify_key)), sk)
    if key.key_id != f"ed25519:{parts[1]}":
        raise KeyFileError(f"{path}: key id does not match the key")
    return key
