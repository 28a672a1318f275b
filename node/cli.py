"""The ``kontor`` command: the operator's interface to a node.

Each subcommand is a small function taking the parsed arguments and returning an exit
code. Errors the operator can fix print one line saying what is wrong and what to do,
and exit 2; they never print a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from node import __version__, configcheck
from node.config import Config, find_config, load_config, render_example
from node.errors import ConfigError, KontorError
from node.logs import setup_logging
from node.nodekey import KeyFileError
from node.services.setup import NotInitialised

Command = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Command, Callable[[argparse.ArgumentParser], None], str]] = {}


NO_CONFIG: set[str] = set()  # commands that do not read a node's INI file


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


def _config(ns: argparse.Namespace, *, defaults_ok: bool = False) -> Config:
    """The config found in the documented order (``find_config``). Without one, only
    ``init`` and ``run`` (``defaults_ok``) go on, on the built-in loopback defaults."""
    path = find_config(ns.config, os.environ)
    if path is None and not defaults_ok:
        raise UsageError(
            "no config file: give -c FILE, set $KONTOR_CONFIG, or run this in the folder "
            "of the node's node.ini (also looked for /etc/kontor/node.ini). To create a "
            "node: kontor example-config > node.ini, set server_name, kontor init")
    return load_config(path)


def _node_config(ns: argparse.Namespace) -> Config:
    """The config of an existing, initialised node (NotInitialised otherwise)."""
    from node.services.setup import require_node

    config = _config(ns)
    require_node(config)
    return config


DEFAULTS_NOTE = ("kontor: no config file given or found (-c, $KONTOR_CONFIG, ./node.ini, "
                 "/etc/kontor/node.ini); using the built-in loopback defaults")


def _out(text: str = "") -> None:
    print(text, flush=True)


@command("init", "create the data directory, signing key and database (idempotent)")
def cmd_init(ns: argparse.Namespace) -> int:
    from node.services.setup import init_node

    config = _config(ns, defaults_ok=True)
    if config.source == "<defaults>":
        _out(f"{DEFAULTS_NOTE} (data in {config.data_dir})")
    report = init_node(config)
    _out(f"data directory: {config.data_dir}" + (" (created)" if report.created_dir else ""))
    assert report.key is not None
    _out(f"signing key:    {report.key.key_id}" + (" (created)" if report.created_key
                                                   else " (kept)"))
    applied = ", ".join(report.migrations) or "none, schema is current"
    _out(f"database:       {config.database_path} (migrations applied: {applied})")
    for warning in report.warnings:
        _out(f"warning: {warning}")
    return 0


@command("run", "initialise if needed, migrate, and serve until SIGTERM/SIGINT")
def cmd_run(ns: argparse.Namespace) -> int:
    from node.server import serve

    config = _config(ns, defaults_ok=True)
    if config.source == "<defaults>":
        print(f"{DEFAULTS_NOTE}: {config.node.server_name} on "
              f"{config.http.listen_host}:{config.http.listen_port}, data in "
              f"{config.data_dir}", file=sys.stderr, flush=True)
    warnings = configcheck.check(config)
    setup_logging(config.logging.level, config.logging.format)
    for warning in warnings:
        logging.getLogger("kontor.config").warning("%s", warning)
    asyncio.run(serve(config))
    return 0


@command("check-config", "validate the configuration file and exit")
def cmd_check_config(ns: argparse.Namespace) -> int:
    config = _config(ns)
    warnings = configcheck.check(config)
    _out(f"{config.source}: OK (server name {config.node.server_name}, "
         f"listening on {config.http.listen_host}:{config.http.listen_port}, "
         f"data in {config.data_dir})")
    for warning in warnings:
        _out(f"warning: {warning}")
    return 0


@command("example-config", "print a complete, commented configuration file")
def cmd_example_config(ns: argparse.Namespace) -> int:
    sys.stdout.write(render_example())
    return 0


def _backup_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("out", type=Path, help="the archive to write (must not exist)")


@command("backup", "write one archive of the node: database, keys, automation device, "
         "media (safe while it runs)", _backup_args)
def cmd_backup(ns: argparse.Namespace) -> int:
    from node.services.backup import write_backup

    config = _node_config(ns)
    if ns.out.exists():
        _err(f"{ns.out} already exists; choose a new file name (a backup never overwrites)")
        return 2
    shown = [0.0]

    def progress(what: str, done: int, total: int) -> None:
        now = time.monotonic()
        if total >= 8 * 1024 * 1024 and (now - shown[0] >= 0.5 or done == total):
            shown[0] = now
            print(f"\r{what}: {done / 2**20:.1f} of {total / 2**20:.1f} MiB", end="",
                  file=sys.stderr, flush=True)
            if done == total:
                print(file=sys.stderr)

    report = write_backup(config, ns.out, progress)
    _out(f"backup of {report.server_name} written to {ns.out}: {report.files} files, "
         f"{report.total_bytes / 2**20:.1f} MiB ({report.media_files} media files); "
         f"restore it with: kontor restore {ns.out} -c FILE")
    return 0


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("archive", type=Path, help="an archive written by kontor backup")


@command("restore", "restore a stopped node from a kontor backup archive", _restore_args)
def cmd_restore(ns: argparse.Namespace) -> int:
    from node.services.restore import restore

    config = _config(ns)
    if not ns.archive.is_file():
        _err(f"{ns.archive} is not a file")
        return 2
    report = restore(config, ns.archive)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.created_ms / 1000))
    _out(f"restored {report.server_name} from {ns.archive} (backup of {when}): "
         f"{report.files} files checked against the manifest")
    _out(f"  database, automation device and keys put in place; {report.media_added} media "
         "files added (those stored since stay)")
    if report.kept_signing_key:
        _out(f"  kept the current signing key {report.kept_signing_key} and the history of "
             "keys with their grace periods")
    for note in report.notes:
        _out(f"  {note}")
    erased = len(report.erased_again)
    _out(f"  erased again {erased} address{'es' if erased != 1 else ''} erased after the "
         f"backup; removed again {report.removed_again} account(s) and revoked again "
         f"{report.revoked_again} device(s)")
    _out(f"  new stream epoch {report.epoch}: devices resync by themselves; one-time "
         "prekeys were dropped and are topped up by the devices")
    _out("start the node with: kontor run -c FILE")
    return 0


def _err(text: str) -> None:
    print(f"kontor: error: {text}", file=sys.stderr, flush=True)


GROUPS = {
    "account": "manage accounts",
    "invite": "one-time registration invites",
    "device": "an account's devices",
    "keys": "the node's signing keys and the DNS records to publish",
    "federation": "delivery to other nodes",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kontor", description="Run and operate a Kontor messaging node.")
    parser.add_argument("--version", action="version", version=f"kontor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    groups: dict[str, argparse._SubParsersAction] = {}
    for name, (_, add_args, help_text) in COMMANDS.items():
        group, _, leaf = name.partition(" ")
        if leaf:
            if group not in groups:
                gp = sub.add_parser(group, help=GROUPS.get(group, ""))
                groups[group] = gp.add_subparsers(dest="subcommand", metavar="SUBCOMMAND",
                                                  required=True)
            p = groups[group].add_parser(leaf, help=help_text, description=help_text)
        else:
            p = sub.add_parser(name, help=help_text, description=help_text)
        p.set_defaults(command_name=name)
        if name not in NO_CONFIG:
            p.add_argument("-c", "--config", type=Path, default=None,
                           help="the node's INI file (default: $KONTOR_CONFIG, else "
                                "./node.ini, else /etc/kontor/node.ini)")
        add_args(p)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``kontor`` console script."""
    _load_command_modules()
    ns = build_parser().parse_args(argv)
    fn = COMMANDS[ns.command_name][0]
    try:
        return fn(ns)
    except ConfigError as exc:
        _err(f"{exc}\n  fix the file, then check it with: kontor check-config -c FILE")
        return 2
    except (KeyFileError, UsageError, NotInitialised) as exc:
        _err(str(exc))
        return 2
    except KontorError as exc:  # the service refused: bad input (2) or a node problem (1)
        _err(f"{exc.message} ({exc.code})")
        return 2 if exc.status < 500 else 1
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # a port in use, a folder that cannot be made, a missing file
        _err(_explain(exc, ns))
        return 2


def _explain(exc: OSError, ns: argparse.Namespace) -> str:
    """One line saying what the operating system refused and what to do about it."""
    where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRINUSE:
        return (f"cannot listen: {reason}; stop the other program on that port or set "
                "[http] listen_port in the config")
    if exc.errno == errno.EADDRNOTAVAIL:
        return (f"cannot listen: {reason}; [http] listen_host must be an address of this "
                "machine (127.0.0.1 or 0.0.0.0, for example)")
    return (f"{reason}{where}; check the paths and permissions in the config "
            f"(kontor check-config -c FILE)")


def _load_command_modules() -> None:
    """Import modules that register further subcommands."""
    from node import (  # noqa: I001 - registration order is the help's order
        cli_accounts,  # noqa: F401
        cli_business,  # noqa: F401
        cli_shop,  # noqa: F401
        cli_chat,  # noqa: F401
        cli_federation,  # noqa: F401
    )
