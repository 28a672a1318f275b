"""Checks of device key documents before the node stores or relays them.

Every document must carry valid signatures (crypto.verify): device keys self-signed by
the device's Ed25519 key and naming the uploading account and device, prekeys signed by
that same device key. Clients verify again themselves; the node checks so that it never
stores or forwards garbage, and so that a peer node cannot feed us bad bundles.
"""

from __future__ import annotations

from typing import Any

from crypto.errors import CryptoError
from crypto.verify import (
    KEY_ID_RE,
    DeviceKeys,
    verify_bundle,
    verify_device_keys,
    verify_one_time_prekey,
    verify_signed_prekey,
)
from node.errors import InvalidParameter
from node.protocol.names import server_of


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(message, code="INVALID_KEYS")


def check_device_keys(doc: Any, address: str, device_id: str) -> DeviceKeys:
    """The verified keys of a device keys document for ``address``/``device_id``."""
    try:
        return verify_device_keys(doc, address, device_id)
    except CryptoError as exc:
        raise _invalid(f"device_keys: {exc}") from None


def check_signed_prekey(doc: Any, device: DeviceKeys) -> None:
    try:
        verify_signed_prekey(doc, device)
    except CryptoError as exc:
        raise _invalid(f"signed_prekey: {exc}") from None


def check_one_time_prekey(doc: Any, device: DeviceKeys) -> None:
    try:
        verify_one_time_prekey(doc, device)
    except CryptoError as exc:
        raise _invalid(f"one-time prekey: {exc}") from None


def prekey_id(doc: Any) -> str:
    key_id = doc.get("key_id") if isinstance(doc, dict) else None
    if not isinstance(key_id, str) or not KEY_ID_RE.fullmatch(key_id):
        raise _invalid("every one-time prekey needs a key_id of 1-64 [A-Za-z0-9_:.-]")
    return key_id


def check_bundle(entry: Any, address: str, claimed: bool) -> None:
    """Check one entry of a (remote) device list or claim answer for ``address``.

    A business address lists its team members' devices; such an entry names the
    ``account`` whose keys it holds, which must live on the same server.
    """
    if not isinstance(entry, dict):
        raise _invalid("a device entry must be an object")
    owner = entry.get("account", address)
    if not isinstance(owner, str) or server_of(owner) != server_of(address):
        raise _invalid("a listed device belongs to an account of another server")
    bundle = {k: v for k, v in entry.items() if k != "account"}
    if not claimed:
        bundle["one_time_prekey"] = None
    try:
        verify_bundle(bundle, owner)
    except CryptoError as exc:
        raise _invalid(f"device {entry.get('device_id')}: {exc}") from None
