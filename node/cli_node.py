"""The node's own subcommands: ``init``, ``run``, ``check-config``, ``example-config``,
``backup`` and ``restore``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from pathlib import Path

from node import configcheck
from node.cli_registry import DEFAULTS_NOTE, command, config_of, err, node_config, out
from node.config import render_example
from node.logs import setup_logging


@command("init", "create the data directory, signing key and database (idempotent)")
def cmd_init(ns: argparse.Namespace) -> int:
    from node.services.setup import init_node

    config = config_of(ns, defaults_ok=True)
    if config.source == "<defaults>":
        out(f"{DEFAULTS_NOTE} (data in {config.data_dir})")
    report = init_node(config)
    out(f"data directory: {config.data_dir}" + (" (created)" if report.created_dir else ""))
    assert report.key is not None
    out(f"signing key:    {report.key.key_id}" + (" (created)" if report.created_key
                                                   else " (kept)"))
    applied = ", ".join(report.migrations) or "none, schema is current"
    out(f"database:       {config.database_path} (migrations applied: {applied})")
    for warning in report.warnings:
        out(f"warning: {warning}")
    return 0


@command("run", "initialise if needed, migrate, and serve until SIGTERM/SIGINT")
def cmd_run(ns: argparse.Namespace) -> int:
    from node.server import serve

    config = config_of(ns, defaults_ok=True)
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
    config = config_of(ns)
    warnings = configcheck.check(config)
    out(f"{config.source}: OK (server name {config.node.server_name}, "
         f"listening on {config.http.listen_host}:{config.http.listen_port}, "
         f"data in {config.data_dir})")
    for warning in warnings:
        out(f"warning: {warning}")
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

    config = node_config(ns)
    if ns.out.exists():
        err(f"{ns.out} already exists; choose a new file name (a backup never overwrites)")
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
    out(f"backup of {report.server_name} written to {ns.out}: {report.files} files, "
         f"{report.total_bytes / 2**20:.1f} MiB ({report.media_files} media files); "
         f"restore it with: kontor restore {ns.out} -c FILE")
    return 0


def _restore_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("archive", type=Path, help="an archive written by kontor backup")


@command("restore", "restore a stopped node from a kontor backup archive", _restore_args)
def cmd_restore(ns: argparse.Namespace) -> int:
    from node.services.restore import restore

    config = config_of(ns)
    if not ns.archive.is_file():
        err(f"{ns.archive} is not a file")
        return 2
    report = restore(config, ns.archive)
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(report.created_ms / 1000))
    out(f"restored {report.server_name} from {ns.archive} (backup of {when}): "
         f"{report.files} files checked against the manifest")
    out(f"  database, automation device and keys put in place; {report.media_added} media "
         "files added (those stored since stay)")
    if report.kept_signing_key:
        out(f"  kept the current signing key {report.kept_signing_key} and the history of "
             "keys with their grace periods")
    for note in report.notes:
        out(f"  {note}")
    erased = len(report.erased_again)
    out(f"  erased again {erased} address{'es' if erased != 1 else ''} erased after the "
         f"backup; removed again {report.removed_again} account(s) and revoked again "
         f"{report.revoked_again} device(s)")
    out(f"  new stream epoch {report.epoch}: devices resync by themselves; one-time "
         "prekeys were dropped and are topped up by the devices")
    out("start the node with: kontor run -c FILE")
    return 0
