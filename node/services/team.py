"""The team inbox: which devices answer for an address, and whom a device speaks as.

A node answers for one business address (``[business] account``). Its devices are the
business account's own automation device plus every device of every admin and agent,
so each of them receives every conversation. A team member answering a customer sends
with ``from`` set to the business address: the customer sees the business as sender and
the copies for the sender's "other devices" go to the whole team.
"""

from __future__ import annotations

from typing import Any

from node.errors import Forbidden
from node.protocol.names import TEAM_ROLES
from node.services.accounts import Requester
from node.storage import accounts as store


def devices(db: Any, address: str, business: str) -> dict[str, int]:
    """Device id -> pk of the keyed devices that receive what is sent to ``address``."""
    if address == business:
        return {device_id: pk for device_id, pk, _ in store.team_devices(db, business)}
    return store.keyed_device_ids(db, address)


def listed_devices(db: Any, address: str, business: str) -> list[tuple[str, int, str]]:
    """(device id, pk, account whose keys the device holds) for a device listing."""
    if address == business:
        return store.team_devices(db, business)
    return [(d, pk, address) for d, pk in store.keyed_device_ids(db, address).items()]


def is_member(db: Any, address: str) -> bool:
    account = store.get_account(db, address)
    return account is not None and account["role"] in TEAM_ROLES


def check_sender(who: Requester, sender: str, business: str) -> None:
    """A device sends as its own account; a team member may also speak as the business."""
    if sender != who.address and not (sender == business and who.role in TEAM_ROLES):
        raise Forbidden(f"{who.address} cannot send as {sender}", code="CANNOT_SEND_AS")
