"""Creating a node's data directory, signing key and database (``kontor init``)."""

from __future__ import annotations

import logging
import os
import secrets
import stat
import time
from dataclasses import dataclass, field
from typing import Any

from node.config import Config
from node.errors import ConfigError
from node.nodekey import NodeKey, key_path, load_key, write_key
from node.protocol.names import Role, local_of
from node.services import erasure_log
from node.storage import accounts as account_store
from node.storage import db as dbmod
from node.storage import nodestore

log = logging.getLogger("kontor.setup")
LOG_SECRET = "log_pseudonym_secret"
STREAM_EPOCH = "stream_epoch"


def new_epoch() -> str:
    """A fresh stream epoch: devices' positions from another epoch mean nothing here."""
    return secrets.token_urlsafe(12)


@dataclass
class InitReport:
    """What ``init_node`` did, for the CLI to print."""

    created_dir: bool = False
    created_key: bool = False
    migrations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key: NodeKey | None = None
    log_secret: bytes = b""  # keys the pseudonyms of addresses in log lines


def init_node(config: Config) -> InitReport:
    """Create what is missing; never overwrite a key. Safe to run any number of times.

    Raises ConfigError when the stored server name differs from the configured one,
    and KeyFileError when the key file is unusable.
    """
    report = InitReport()
    data_dir = config.data_dir
    if not data_dir.exists():
        data_dir.mkdir(mode=0o700, parents=True)
        os.chmod(data_dir, 0o700)
        report.created_dir = True
    elif data_dir.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        report.warnings.append(f"{data_dir} is accessible by other users; "
                               f"run `chmod 700 {data_dir}`")
    path = key_path(data_dir)
    if not path.exists():
        write_key(path, NodeKey.generate())
        report.created_key = True
    report.key = load_key(path)
    erasure_log.ensure_key(data_dir)
    report.migrations = dbmod.create_database(config.database_path)
    report.log_secret = _record_identity(config, report.key)
    return report


class NotInitialised(Exception):
    """A command that works on an existing node found none where the config points."""


def require_node(config: Config) -> None:
    """Raise NotInitialised unless ``config``'s data directory, key and database exist."""
    data_dir = config.data_dir
    for path in (data_dir, key_path(data_dir), config.database_path):
        if not path.exists():
            where = "" if config.source == "<defaults>" else f" -c {config.source}"
            raise NotInitialised(
                f"no node here: {path} does not exist. Point -c (or $KONTOR_CONFIG) at the "
                f"node's config, or create the node with: kontor init{where}")


def open_node(config: Config) -> InitReport:
    """``init_node`` for a command that needs an existing node: it migrates and checks
    the node's identity, and creates nothing (NotInitialised when there is no node)."""
    require_node(config)
    return init_node(config)


def recorded_business(db: Any) -> str | None:
    """The business address the database was set up for (None: not yet known)."""
    stored = nodestore.get_meta(db, "business_address")
    if stored is not None:
        return stored
    found = account_store.addresses_with_role(db, Role.AUTOMATION)  # set up before it was kept
    return found[0] if len(found) == 1 else None


def identity_problem(config: Config, db: Any) -> ConfigError | None:
    """How ``config`` disagrees with the server name and business account the database
    was set up with, or None."""
    stored = nodestore.get_meta(db, "server_name")
    if stored is not None and stored != config.node.server_name:
        return ConfigError(config.source, "node", "server_name",
                           f"this database belongs to {stored!r}; a node cannot change its "
                           "server name (use a new data_dir for a new node)")
    business = recorded_business(db)
    if business is not None and business != config.business_address:
        local = local_of(business)
        return ConfigError(
            config.source, "business", "account",
            f"this database was set up for the business account {local!r} ({business}); "
            "editing the config does not rename it (customers' apps and other nodes know "
            f"the business by that address). Set account = {local} again; or, to rename "
            f"the business, stop the node and run: kontor business rename "
            f"{config.business.account} --yes -c {config.source} (the old address is "
            "retired; tell customers the new one); or use a new data_dir for a new "
            "business")
    existing = account_store.get_account(db, config.business_address)
    if existing is not None and existing["role"] != Role.AUTOMATION:
        return ConfigError(config.source, "business", "account",
                           f"{config.business_address} is already a {existing['role']} "
                           "account; choose another name for the business")
    return None


def _record_identity(config: Config, key: NodeKey) -> bytes:
    """Record the server name and key; the node's log pseudonym secret (made once)."""
    db = dbmod.connect(config.database_path)
    try:
        db.execute("BEGIN IMMEDIATE")
        problem = identity_problem(config, db)
        if problem is not None:
            db.conn.rollback()
            raise problem
        nodestore.set_meta_txn(db, "server_name", config.node.server_name)
        nodestore.set_meta_txn(db, "business_address", config.business_address)
        if nodestore.get_meta(db, STREAM_EPOCH) is None:
            nodestore.set_meta_txn(db, STREAM_EPOCH, new_epoch())
        now_ms = int(time.time() * 1000)
        if account_store.get_account(db, config.business_address) is None:
            account_store.create_account_txn(db, config.business_address, Role.AUTOMATION,
                                             None, now_ms)
        if nodestore.record_key_txn(db, key.key_id, key.public_key_b64, now_ms):
            nodestore.expire_other_keys_txn(db, key.key_id, now_ms)
        log_secret = nodestore.get_meta(db, LOG_SECRET)
        if log_secret is None:
            log_secret = secrets.token_hex(32)
            nodestore.set_meta_txn(db, LOG_SECRET, log_secret)
        db.execute("COMMIT")
    finally:
        db.close()
    return bytes.fromhex(log_secret)
