"""The registry of ``kontor`` subcommands and the helpers they share.

A command module (``node.cli_node``, ``node.cli_accounts``, ...) registers its
subcommands with ``@command(...)`` and imports only this module of the CLI; ``node.cli``
imports the command modules and builds the parser from ``COMMANDS``, so no module of the
CLI imports one that imports it back.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from node.config import Config, find_config, load_config

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}
NO_CONFIG: set[str] = set()  # commands that do not read a node's INI file
GROUPS = {  # help of the command groups (``kontor account ...``); modules add theirs
    "account": "manage accounts",
    "invite": "one-time registration invites",
    "device": "an account's devices",
    "keys": "the node's signing keys and the DNS records to publish",
    "federation": "delivery to other nodes",
}
DEFAULTS_NOTE = ("kontor: no config file given or found (-c, $KONTOR_CONFIG, ./node.ini, "
                 "/etc/kontor/node.ini); using the built-in loopback defaults")


def command(name: str, help: str,
            args: Callable[[argparse.ArgumentParser], None] = lambda p: None,
            *, config: bool = True) -> Callable[[Command], Command]:
    """Register a subcommand (``config=False``: it takes no ``-c FILE``)."""
    if not config:
        NO_CONFIG.add(name)

    def register(fn: Command) -> Command:
        COMMANDS[name] = (fn, args, help)
        return fn
    return register


class UsageError(Exception):
    """The command cannot run as asked; the message says what to do (exit 2)."""


def config_of(ns: argparse.Namespace, *, defaults_ok: bool = False) -> Config:
    """The config found in the documented order (``find_config``). Without one, only
    ``init`` and ``run`` (``defaults_ok``) go on, on the built-in loopback defaults."""
    path = find_config(ns.config, os.environ)
    if path is None and not defaults_ok:
        raise UsageError(
            "no config file: give -c FILE, set $KONTOR_CONFIG, or run this in the folder "
            "of the node's node.ini (also looked for /etc/kontor/node.ini). To create a "
            "node: kontor example-config > node.ini, set server_name, kontor init")
    return load_config(path)


def node_config(ns: argparse.Namespace) -> Config:
    """The config of an existing, initialised node (NotInitialised otherwise)."""
    from node.services.setup import require_node

    config = config_of(ns)
    require_node(config)
    return config


def out(text: str = "") -> None:
    """One line of the command's output."""
    print(text, flush=True)


def err(text: str) -> None:
    """One line saying what went wrong, on stderr."""
    print(f"kontor: error: {text}", file=sys.stderr, flush=True)
