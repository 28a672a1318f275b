"""``kontor restore``: bring a stopped node back from a ``kontor backup`` archive.

In order, stopping at the first problem with nothing changed:

1. the node must be stopped (its run lock free, ``node.services.runlock``);
2. the archive is unpacked into a staging folder beside the data directory and checked:
   a known format, every file listed in the manifest present with its size and SHA-256,
   nothing else, no path leaving the folder; it must be this node's (server name);
3. the keys' history survives: when the data directory still has a signing key, it stays
   (a restore never undoes a key rotation) and the stored history of keys, with their
   grace periods, is carried over from the database being replaced; the erasure log and
   key stay when the data directory has them (they know every erasure up to now);

then the files are put in place (media are merged: files stored since the backup stay),
and the restored database is brought in step: migrations, a new stream epoch (devices
resync, see docs/protocol.md), no one-time prekeys (some were handed out after the
backup), the automation device's sessions dropped (its ratchets went back in time), and
whatever the erasure log names since the backup is done again: accounts removed,
devices revoked, customers erased.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from node.config import Config
from node.errors import KontorError
from node.nodekey import key_path, load_key
from node.services import backup as fmt
from node.services import erasure_log, runlock
from node.services.setup import STREAM_EPOCH, new_epoch
from node.storage import accounts as account_store
from node.storage import business as business_store
from node.storage import db as dbmod
from node.storage import messages as message_store
from node.storage import nodestore

MAX_MEMBERS = 10_000_000


class RestoreError(KontorError):
    """The archive cannot be restored here (damaged, another node's, node running)."""


@dataclass
class RestoreReport:
    server_name: str
    created_ms: int
    snapshot_ms: int
    files: int = 0
    media_added: int = 0
    kept_signing_key: str | None = None
    erased_again: list[str] = field(default_factory=list)
    removed_again: int = 0
    revoked_again: int = 0
    epoch: str = ""
    notes: list[str] = field(default_factory=list)


def restore(config: Config, archive: Path) -> RestoreReport:
    """Restore ``archive`` into the (stopped) node of ``config``; RestoreError if not."""
    data_dir = config.data_dir
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    lock = runlock.acquire(data_dir)  # NodeRunning when a node serves it
    try:
        with tempfile.TemporaryDirectory(dir=data_dir.parent,
                                         prefix=".kontor-restore-") as tmp:
            staged = Path(tmp)
            manifest = _unpack(archive, staged)
            if manifest["server_name"] != config.node.server_name:
                raise RestoreError(
                    f"{archive} is a backup of {manifest['server_name']!r}, this node is "
                    f"{config.node.server_name!r}", code="OTHER_NODE")
            report = RestoreReport(manifest["server_name"], manifest["created_ms"],
                                   manifest["snapshot_ms"], files=len(manifest["files"]))
            _carry_over_keys(config, staged, report)
            _put_in_place(config, staged, report)
        _bring_in_step(config, report)
    finally:
        runlock.release(lock)
    return report


def _unpack(archive: Path, staged: Path) -> dict[str, Any]:
    """Extract and check every file against the manifest; the manifest."""
    try:
        with tarfile.open(archive, mode="r:") as tar:
            names = []
            for count, member in enumerate(tar):
                if count > MAX_MEMBERS:
                    raise RestoreError("the archive holds too many files", code="DAMAGED")
                path = _safe_name(member)
                target = staged / path
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, open(target, "xb") as out:
                    shutil.copyfileobj(source, out, fmt.CHUNK)
                os.chmod(target, 0o600)
                names.append(path)
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise RestoreError(f"{archive} is not a readable kontor backup: {exc}",
                           code="DAMAGED") from None
    return _check_manifest(staged, set(names))


def _safe_name(member: tarfile.TarInfo) -> str:
    path = PurePosixPath(member.name)
    if not member.isfile() or path.is_absolute() or ".." in path.parts or not path.parts:
        raise RestoreError(f"the archive holds an unexpected entry {member.name[:100]!r}",
                           code="DAMAGED")
    return path.as_posix()


def _check_manifest(staged: Path, names: set[str]) -> dict[str, Any]:
    try:
        manifest = json.loads((staged / fmt.MANIFEST).read_text())
        files = manifest["files"]
        assert manifest["format"] == fmt.FORMAT and isinstance(files, dict)
        assert isinstance(manifest["server_name"], str)
        assert isinstance(manifest["created_ms"], int)
        assert isinstance(manifest["snapshot_ms"], int)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        raise RestoreError("the archive has no valid kontor backup manifest",
                           code="DAMAGED") from None
    listed = set(files) | {fmt.MANIFEST}
    if listed != names or fmt.DATABASE not in files:
        odd = sorted(listed ^ names)[:5]
        raise RestoreError(f"the archive does not match its manifest ({', '.join(odd)})",
                           code="DAMAGED")
    for name, entry in files.items():
        path = staged / name
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(fmt.CHUNK):
                digest.update(chunk)
        if path.stat().st_size != entry.get("size") or digest.hexdigest() != entry.get("sha256"):
            raise RestoreError(f"{name} in the archive is damaged (its checksum does not "
                               "match the manifest)", code="DAMAGED")
    return manifest


def _carry_over_keys(config: Config, staged: Path, report: RestoreReport) -> None:
    """Keep the live signing key and the keys' history; keep a live erasure log."""
    live_key = key_path(config.data_dir)
    if live_key.exists() and config.database_path.exists():
        key = load_key(live_key)
        report.kept_signing_key = key.key_id
        (staged / "keys" / live_key.name).unlink(missing_ok=True)
        live = dbmod.connect(config.database_path)
        try:
            rows = nodestore.list_keys(live)
        finally:
            live.close()
        restored = dbmod.connect(staged / fmt.DATABASE)
        try:
            with restored.atomic():
                nodestore.merge_keys_txn(restored, rows)
        finally:
            restored.close()
    if erasure_log.tags(erasure_log.log_path(config)):
        (staged / fmt.ERASURES).unlink(missing_ok=True)
        (staged / "keys" / erasure_log.KEY_NAME).unlink(missing_ok=True)
        report.notes.append("kept this node's erasure log (it knows every erasure)")


def _put_in_place(config: Config, staged: Path, report: RestoreReport) -> None:
    """Move the staged files into the data directory."""
    database = config.database_path
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for suffix in ("-wal", "-shm"):
        database.with_name(database.name + suffix).unlink(missing_ok=True)
    shutil.move(staged / fmt.DATABASE, database)  # (the database may be elsewhere)
    if (staged / fmt.ERASURES).exists():
        shutil.move(staged / fmt.ERASURES, erasure_log.log_path(config))
    keys = config.data_dir / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    for path in (staged / "keys").glob("*") if (staged / "keys").is_dir() else []:
        os.replace(path, keys / path.name)
    automation = config.data_dir / "automation"
    if (staged / "automation").is_dir():
        shutil.rmtree(automation, ignore_errors=True)
        os.replace(staged / "automation", automation)
        os.chmod(automation, 0o700)
    media = config.data_dir / "media"
    for path in sorted((staged / "media").rglob("*")) if (staged / "media").is_dir() else []:
        if path.is_file():
            target = media / path.relative_to(staged / "media")
            if not target.exists():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.replace(path, target)
                report.media_added += 1


def _bring_in_step(config: Config, report: RestoreReport) -> None:
    """Migrate, new epoch, no one-time prekeys, fresh automation sessions, erasures."""
    dbmod.create_database(config.database_path)
    report.epoch = new_epoch()
    db = dbmod.connect(config.database_path)
    try:
        with db.atomic():
            nodestore.set_meta_txn(db, STREAM_EPOCH, report.epoch)
            account_store.drop_one_time_prekeys_txn(db)
            _remove_again_txn(db, config, report)
        candidates = ({a["address"] for a in account_store.list_accounts(db)}
                      | message_store.addresses(db) | business_store.customer_addresses(db))
    finally:
        db.close()
    _drop_automation_sessions(config)
    report.erased_again = erasure_log.logged_among(config, candidates, report.snapshot_ms)
    if report.erased_again:
        asyncio.run(_erase(config, report.erased_again))


def _remove_again_txn(db: Any, config: Config, report: RestoreReport) -> None:
    """Accounts removed and devices revoked since the backup go again."""
    since = report.snapshot_ms
    addresses = [a["address"] for a in account_store.list_accounts(db)]
    for address in erasure_log.logged_among(config, addresses, since, "account"):
        account_store.delete_account_txn(db, address)
        report.removed_again += 1
    devices = [f"{a}/{d['device_id']}" for a in addresses
               for d in account_store.list_devices(db, a)]
    for device in erasure_log.logged_among(config, devices, since, "device"):
        address, _, device_id = device.rpartition("/")
        account_store.delete_device_txn(db, address, device_id)
        report.revoked_again += 1


def _drop_automation_sessions(config: Config) -> None:
    from node.services import automation_device

    automation_device.drop_sessions(config)


async def _erase(config: Config, addresses: list[str]) -> None:
    from node.services.business import datarights
    from node.services.business.context import Business
    from node.services.notifier import Notifier

    db = dbmod.Database(config.database_path)
    try:
        biz = Business(db, Notifier(), config, load_key(key_path(config.data_dir)))
        for address in addresses:
            await datarights.erase(biz, None, address)
    finally:
        db.close()
