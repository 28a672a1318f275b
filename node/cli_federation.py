"""``kontor keys`` and ``kontor federation``: the node's signing keys, the DNS records to
publish, and the state of delivery to other nodes."""

from __future__ import annotations

import argparse
import ipaddress
import time
from pathlib import Path
from urllib.parse import urlsplit

from crypto.encoding import b64decode
from federation import pins
from federation import storage as fed_store
from federation.servername import InvalidServerName
from node.cli_registry import command, node_config, out
from node.nodekey import NodeKey, key_path, load_key, write_key
from node.services.setup import open_node
from node.storage import nodestore
from node.storage.db import connect

DEFAULT_GRACE_HOURS = 7 * 24


def _rotate_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--grace-hours", type=int, default=DEFAULT_GRACE_HOURS,
                   help="how long peers still accept the old key (default 168)")


@command("keys rotate", "replace the node's signing key; the old one stays valid for a while",
         _rotate_args)
def cmd_keys_rotate(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    if not 1 <= ns.grace_hours <= 24 * 90:
        out("kontor: error: --grace-hours must be between 1 and 2160")
        return 2
    open_node(config)
    path = key_path(config.data_dir)
    old = load_key(path)
    new = NodeKey.generate()
    now = int(time.time() * 1000)
    db = connect(config.database_path)
    try:
        with db.atomic():
            nodestore.record_key_txn(db, new.key_id, new.public_key_b64, now)
            nodestore.expire_other_keys_txn(db, new.key_id, now + ns.grace_hours * 3600_000)
    finally:
        db.close()
    write_key(path, new, replace=True)
    out(f"new signing key {new.key_id}; {old.key_id} stays valid for "
         f"{ns.grace_hours} hours")
    out("restart the node (kontor run) so that it signs with the new key, then publish "
         "the new DNS pin:")
    out(pins.pin_record(config.node.server_name, new.public_key))
    return 0


@command("keys show", "the node's current signing key and its fingerprint")
def cmd_keys_show(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    open_node(config)
    key = load_key(key_path(config.data_dir))
    out(f"server name  {config.node.server_name}")
    out(f"key id       {key.key_id}")
    out(f"public key   {key.public_key_b64}")
    out(f"fingerprint  {pins.pin_value(key.public_key)}")
    return 0


def _dns_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--target", default=None,
                   help="host name that serves the node (default: the host of [node] "
                        "public_url)")
    p.add_argument("--port", type=int, default=None,
                   help="port it serves on (default: the port of public_url, or 443)")


@command("keys dns", "print the DNS records to publish (SRV and the TXT key pin)", _dns_args)
def cmd_keys_dns(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    key = load_key(key_path(config.data_dir))  # says to run kontor init when missing
    server_name = config.node.server_name
    public = urlsplit(config.node.public_url) if config.node.public_url else None
    target = ns.target or (public.hostname if public else None)
    port = ns.port or (public.port if public and public.port else 443)
    out(f"; DNS records for the Kontor node {server_name}")
    if target is None:
        out("; no SRV record: set [node] public_url (or pass --target HOST), the public "
             "name that serves this node")
    elif _is_ip(target):
        out(f"; no SRV record: an SRV target must be a host name, not {target}; "
             "pass --target HOST")
    else:
        try:
            out(pins.srv_record(server_name, target, port))
        except (ValueError, InvalidServerName) as exc:  # the target is the operator's input
            out(f"; no SRV record: {exc}")
    out(pins.pin_record(server_name, key.public_key))
    for row in _old_keys(config.database_path, key.key_id):
        out(f"; while {row['key_id']} is still valid, keep its pin too:")
        out(pins.pin_record(server_name, _b64decode(row["public_key"])))
    return 0


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _old_keys(database: Path, current: str) -> list[dict]:
    if not database.exists():
        return []
    db = connect(database)
    try:
        now = int(time.time() * 1000)
        return [k for k in nodestore.list_keys(db)
                if k["key_id"] != current and k["expired_ms"] and k["expired_ms"] > now]
    finally:
        db.close()


def _b64decode(text: str) -> bytes:
    return b64decode(text, 32)


def _age(ms: int | None, now: int) -> str:
    if not ms:
        return "-"
    seconds = max(0, (now - ms) // 1000)
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m" if seconds >= 3600 \
        else f"{seconds // 60}m{seconds % 60:02d}s"


@command("federation status", "each destination's queue depth, oldest message, last error "
         "and next retry")
def cmd_federation_status(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    open_node(config)
    db = connect(config.database_path)
    try:
        rows = fed_store.queue_status(db)
    finally:
        db.close()
    if not rows:
        out("no destinations yet")
        return 0
    now = int(time.time() * 1000)
    out(f"{'destination':32} {'queued':>6} {'oldest':>8} {'failures':>8} {'next retry':>10}"
         "  last error")
    for r in rows:
        retry = "-" if not r["failures"] else (
            "now" if (r["next_attempt_ms"] or 0) <= now
            else f"in {((r['next_attempt_ms'] - now) // 1000)}s")
        out(f"{r['destination']:32} {r['depth']:>6} {_age(r['oldest_ms'], now):>8} "
             f"{r['failures']:>8} {retry:>10}  {(r['last_error'] or '-')[:80]}")
    return 0
