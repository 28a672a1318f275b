"""``kontor account``, ``kontor invite`` and ``kontor device``: operator account tools.

They work on the node's database directly, so they run whether or not the node is up
(SQLite's WAL lets them write beside a running node).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from node.cli_registry import command, err, node_config, out
from node.config import Config
from node.protocol.names import GIVEN_ROLES, Role
from node.services import accounts
from node.services.setup import open_node
from node.storage import accounts as store
from node.storage.db import Database

T = TypeVar("T")


def _with_db(config: Config, fn: Callable[[Database], Awaitable[T]]) -> T:
    open_node(config)

    async def run() -> T:
        db = Database(config.database_path)
        try:
            return await fn(db)
        finally:
            db.close()
    return asyncio.run(run())


def _read_password(ns: argparse.Namespace) -> str | None:
    if ns.no_password:
        return None
    if ns.password_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline().rstrip("\n")
        if not line:
            raise SystemExit("kontor: error: no password on standard input; pipe one in, "
                             "or use --no-password")
        return line
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise SystemExit("kontor: error: the passwords differ; nothing was created")
    return first


def _add_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="user name or full address (anna or anna@your.server)")
    p.add_argument("--role", choices=GIVEN_ROLES, default=Role.CUSTOMER)
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")
    p.add_argument("--no-password", action="store_true",
                   help="no password: the account cannot log in until one is set with "
                        "kontor account password")


@command("account add", "create an account (admin, agent or customer)", _add_args)
def cmd_account_add(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    address = accounts.make_address(ns.address, config.node.server_name)
    password = _read_password(ns)
    if password is not None:
        accounts.check_password(password)
    _with_db(config, lambda db: accounts.create_account(db, address, ns.role, password))
    out(f"created {address} ({ns.role})")
    return 0


def _password_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="user name or full address")
    p.add_argument("--password-stdin", action="store_true",
                   help="read the password from the first line of standard input")


@command("account password", "set or change an account's password", _password_args)
def cmd_account_password(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    address = accounts.make_address(ns.address, config.node.server_name)
    ns.no_password = False
    password = _read_password(ns)
    assert password is not None
    _with_db(config, lambda db: accounts.set_password(db, address, password))
    out(f"password of {address} set")
    return 0


def _remove_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address", help="user name or full address")
    p.add_argument("--yes", action="store_true", help="really remove it")


@command("account remove", "delete an account, its devices and its queued messages",
         _remove_args)
def cmd_account_remove(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    address = accounts.make_address(ns.address, config.node.server_name)
    if not ns.yes:
        err(f"this deletes {address} and everything queued for it; add --yes to go on")
        return 2
    _with_db(config, lambda db: accounts.remove_account(db, address, config))
    out(f"removed {address}")
    return 0


@command("account list", "list accounts with their roles and device counts")
def cmd_account_list(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    rows = _with_db(config, lambda db: db.read(store.list_accounts))
    out(f"{'ADDRESS':40} {'ROLE':10} DEVICES")
    for row in rows:
        out(f"{row['address']:40} {row['role']:10} {row['devices']}")
    return 0


def _invite_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--role", choices=GIVEN_ROLES, default=Role.CUSTOMER)
    p.add_argument("--days", type=int, default=7, help="valid for this many days (1-90)")


@command("invite create", "print a one-time registration token", _invite_args)
def cmd_invite_create(ns: argparse.Namespace) -> int:
    if not 1 <= ns.days <= 90:
        err("--days must be between 1 and 90")
        return 2
    config = node_config(ns)
    ttl = ns.days * 24 * 3600 * 1000
    token = _with_db(config, lambda db: accounts.create_invite(db, ns.role, ttl))
    out(token)
    print(f"(one-time {ns.role} invite for {config.node.server_name}, valid {ns.days} days)",
          file=sys.stderr)
    return 0


def _address_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("address")


@command("device list", "list an account's devices", _address_arg)
def cmd_device_list(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    address = accounts.make_address(ns.address, config.node.server_name)
    devices = _with_db(config, lambda db: accounts.list_devices(db, address))
    out(f"{'DEVICE':12} {'NAME':24} {'KEYS':5} LAST SEEN (UTC)")
    for d in devices:
        seen = time.strftime("%Y-%m-%d %H:%M", time.gmtime(d["last_seen_ms"] / 1000))
        out(f"{d['device_id']:12} {d['name'][:24]:24} {'yes' if d['has_keys'] else 'no':5} "
             f"{seen}")
    return 0


def _revoke_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("address")
    p.add_argument("device_id")


@command("device revoke", "log a device out: token, keys and queue are removed", _revoke_args)
def cmd_device_revoke(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    address = accounts.make_address(ns.address, config.node.server_name)
    _with_db(config, lambda db: accounts.revoke_device(db, address, ns.device_id, config))
    out(f"revoked {address} device {ns.device_id}")
    return 0
