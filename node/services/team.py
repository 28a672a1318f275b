"""The team inbox: which devices answer for an address, and whom a device speaks as.

A node answers for one business address (``[business] account``). Its devices are the
business account's own automation device plus every device of every admin and agent,
so each of them receives every conversation. A team member writing to anyone outside
the team speaks as the business: the message's sender is the business address and the
copies for the sender's "other devices" go to the whole team.
"""

from __future__ import annotations

from typing import Any

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
    return account is not None and account["role"] in store.TEAM_ROLES


def speaks_as(db: Any, who: Requester, to: str, business: str) -> str:
    """The sender address of a message ``who`` sends to ``to``."""
    if (who.role in store.TEAM_ROLES and to != business and to != who.address
            and not is_member(db, to)):
        return business
    return who.address
