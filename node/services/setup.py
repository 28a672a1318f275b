"""Creating a node's data directory, signing key and database (``kontor init``)."""

from __future__ import annotations

import logging
import os
import stat
import time
from dataclasses import dataclass, field

from node.config import Config
from node.errors import ConfigError
from node.nodekey import NodeKey, key_path, load_key, write_key
from node.storage import accounts as account_store
from node.storage import db as dbmod
from node.storage import nodestore

log = logging.getLogger("kontor.setup")


@dataclass
class InitReport:
    """What ``init_node`` did, for the CLI to print."""

    created_dir: bool = False
    created_key: bool = False
    migrations: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    key: NodeKey | None = None


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
    report.migrations = dbmod.create_database(config.database_path)
    _record_identity(config, report.key)
    return report


def _record_identity(config: Config, key: NodeKey) -> None:
    db = dbmod.connect(config.database_path)
    try:
        db.execute("BEGIN IMMEDIATE")
        stored = nodestore.get_meta(db, "server_name")
        if stored is not None and stored != config.node.server_name:
            db.conn.rollback()
            raise ConfigError(config.source, "node", "server_name",
                              f"this database belongs to {stored!r}; a node cannot change its "
                              "server name (use a new data_dir for a new node)")
        nodestore.set_meta_txn(db, "server_name", config.node.server_name)
        now_ms = int(time.time() * 1000)
        business = config.business_address
        existing = account_store.get_account(db, business)
        if existing is None:
            account_store.create_account_txn(db, business, "automation", None, now_ms)
        elif existing["role"] != "automation":
            db.conn.rollback()
            raise ConfigError(config.source, "business", "account",
                              f"{business} is already a {existing['role']} account; choose "
                              "another name for the business")
        if nodestore.record_key_txn(db, key.key_id, key.public_key_b64, now_ms):
            nodestore.expire_other_keys_txn(db, key.key_id, now_ms)
        db.execute("COMMIT")
    finally:
        db.close()
