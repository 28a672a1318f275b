"""``kontor business rename``: give the business account another name, knowingly.

The business address (``<[business] account>@<server name>``) is what customers' apps
and other nodes know; editing the config cannot change it (``kontor check-config`` and
``kontor run`` refuse a database set up for another account and name this command).
Renaming, on a stopped node (its run lock free), in one transaction:

- the new address must be free: no account has it and it was never retired;
- the old business account is removed and its address retired (never given out again,
  so nobody can register it and pass for the business), its automation device ends;
- the new business account is created (``automation``), and the database records it;
- the team's sealed history is deleted: its copies are bound to the old address
  (docs/crypto.md §11), so no device could open them under the new one; the team's
  devices keep their local history, and the new history starts with the next message.

Then the automation device's store is removed (``kontor run`` makes a new device for
the new address). Everything else of the business stays: profile, catalog, orders,
conversations, labels, notes, statistics. Customers must be told the new address:
messages to the old one are refused (``UNKNOWN_ACCOUNT``).
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlite_utils

from node.config import Config
from node.errors import KontorError
from node.protocol.names import Role
from node.services import automation_device, runlock
from node.services.accounts import make_address, now_ms
from node.services.setup import recorded_business, require_node
from node.storage import accounts as account_store
from node.storage import db as dbmod
from node.storage import history as history_store
from node.storage import nodestore


class RenameError(KontorError):
    """The business account cannot be renamed so (taken name, same name, no node)."""

    status = 409
    code = "RENAME_REFUSED"


@dataclass(frozen=True)
class RenameReport:
    old: str
    new: str
    history_copies: int


def rename_business(config: Config, new_name: str) -> RenameReport:
    """Rename the business account of the node ``config`` describes to ``new_name``
    (a local part); ``RenameError`` or ``NodeRunning`` with nothing changed."""
    require_node(config)
    new = make_address(new_name, config.node.server_name)
    lock = runlock.acquire(config.data_dir)  # NodeRunning when a node serves it
    try:
        dbmod.create_database(config.database_path)  # migrated, as kontor run would
        db = dbmod.connect(config.database_path)
        try:
            db.execute("BEGIN IMMEDIATE")
            try:
                report = _rename_txn(db, new, now_ms())
            except BaseException:
                db.conn.rollback()
                raise
            db.execute("COMMIT")
        finally:
            db.close()
        automation_device.discard(config)
    finally:
        runlock.release(lock)
    return report


def _rename_txn(db: sqlite_utils.Database, new: str, now: int) -> RenameReport:
    old = recorded_business(db)
    if old is None:
        raise RenameError("this database records no business account to rename")
    if old == new:
        raise RenameError(f"the business account is {old} already")
    if account_store.get_account(db, new) is not None or account_store.is_retired(db, new):
        raise RenameError(f"{new} is taken (an account has it, or had it): choose another "
                          "name")
    copies = history_store.erase_owner_txn(db, old)
    account_store.delete_account_txn(db, old)
    account_store.create_account_txn(db, new, Role.AUTOMATION, None, now)
    nodestore.set_meta_txn(db, "business_address", new)
    return RenameReport(old, new, copies)
