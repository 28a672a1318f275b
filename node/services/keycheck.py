"""Checks of device key documents before the node stores them (see docs/protocol.md).

Structure only for now; signature checks are added with crypto/.
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import InvalidParameter

KEY_ID_RE = re.compile(r"^[A-Za-z0-9_:.-]{1,64}$")


def _invalid(message: str) -> InvalidParameter:
    return InvalidParameter(message, code="INVALID_KEYS")


def check_device_keys(doc: Any, address: str, device_id: str) -> None:
    if not isinstance(doc, dict):
        raise _invalid("device_keys must be an object")
    if doc.get("address") != address or doc.get("device_id") != device_id:
        raise _invalid("device_keys must name this account and device")


def check_signed_prekey(doc: Any, identity: Any) -> None:
    if not isinstance(doc, dict):
        raise _invalid("signed_prekey must be an object")


def check_one_time_prekey(doc: Any, identity: Any) -> None:
    if not isinstance(doc, dict):
        raise _invalid("a one-time prekey must be an object")


def prekey_id(doc: Any) -> str:
    key_id = doc.get("key_id") if isinstance(doc, dict) else None
    if not isinstance(key_id, str) or not KEY_ID_RE.match(key_id):
        raise _invalid("every one-time prekey needs a key_id")
    return key_id
