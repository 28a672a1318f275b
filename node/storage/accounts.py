"""SQL for accounts, invites and devices (tokens, key documents, one-time prekeys).

Owns ``accounts``, ``invites``, ``devices``, ``one_time_prekeys``,
``retired_addresses``, ``revoked_tokens``, ``guests`` and ``guest_challenges`` (schema in
``node.storage.migrations``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import sqlite_utils

from node.protocol.names import Role


def create_account_txn(db: sqlite_utils.Database, address: str, role: str,
                       password_hash: str | None, now_ms: int) -> bool:
    """Insert an account; False when the address is taken."""
    cur = db.execute("INSERT OR IGNORE INTO accounts (address, role, password_hash, created_ms)"
                     " VALUES (?, ?, ?, ?)", [address, role, password_hash, now_ms])
    return cur.rowcount == 1


def get_account(db: sqlite_utils.Database, address: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT address, role, password_hash, created_ms FROM accounts "
                         "WHERE address = ?", [address]))
    return rows[0] if rows else None


def list_accounts(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    return list(db.query("SELECT a.address, a.role, a.created_ms, COUNT(d.pk) AS devices "
                         "FROM accounts a LEFT JOIN devices d ON d.address = a.address "
                         "GROUP BY a.address ORDER BY a.address"))


def addresses_with_role(db: sqlite_utils.Database, role: str) -> list[str]:
    return [r[0] for r in db.execute("SELECT address FROM accounts WHERE role = ? "
                                     "ORDER BY address", [role]).fetchall()]


def set_password_txn(db: sqlite_utils.Database, address: str, password_hash: str) -> bool:
    return db.execute("UPDATE accounts SET password_hash = ? WHERE address = ?",
                      [password_hash, address]).rowcount == 1


def delete_account_txn(db: sqlite_utils.Database, address: str) -> bool:
    """Delete the account (devices, keys and queues cascade) and retire its address;
    its devices' tokens are remembered as revoked."""
    _revoke_tokens(db, "address = ?", [address])
    gone = db.execute("DELETE FROM accounts WHERE address = ?", [address]).rowcount == 1
    if gone:
        db.execute("INSERT OR IGNORE INTO retired_addresses (address_hash, retired_ms) "
                   "VALUES (?, CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                   [_retired_hash(address)])
    return gone


def is_retired(db: sqlite_utils.Database, address: str) -> bool:
    return db.execute("SELECT 1 FROM retired_addresses WHERE address_hash = ?",
                      [_retired_hash(address)]).fetchone() is not None


def unretire_txn(db: sqlite_utils.Database, address: str) -> None:
    """The operator gives a retired address out again, knowingly."""
    db.execute("DELETE FROM retired_addresses WHERE address_hash = ?",
               [_retired_hash(address)])


def _retired_hash(address: str) -> str:
    """Only a hash is kept, so an erased customer's address is not stored in the clear."""
    return hashlib.sha256(b"kontor-retired-address:" + address.encode()).hexdigest()


def create_invite_txn(db: sqlite_utils.Database, token_hash: str, role: str, now_ms: int,
                      expires_ms: int) -> None:
    db.execute("INSERT INTO invites (token_hash, role, created_ms, expires_ms) "
               "VALUES (?, ?, ?, ?)", [token_hash, role, now_ms, expires_ms])


def use_invite_txn(db: sqlite_utils.Database, token_hash: str, address: str,
                   now_ms: int) -> str | None:
    """Mark an unused, unexpired invite used; return its role, or None."""
    row = db.execute("SELECT role FROM invites WHERE token_hash = ? AND used_by IS NULL "
                     "AND expires_ms > ?", [token_hash, now_ms]).fetchone()
    if row is None:
        return None
    db.execute("UPDATE invites SET used_by = ? WHERE token_hash = ?", [address, token_hash])
    return row[0]


def forget_invite_use_txn(db: sqlite_utils.Database, address: str) -> int:
    """Invites used by ``address`` keep being used but stop naming it; return how many."""
    return db.execute("UPDATE invites SET used_by = '' WHERE used_by = ?", [address]).rowcount


INVITE_ID_CHARS = 16  # an invite's id: the first hex digits of its token's hash


def list_invites(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Every invite, newest first, by id (never the token or its whole hash)."""
    return list(db.query(f"SELECT substr(token_hash, 1, {INVITE_ID_CHARS}) AS invite_id, role, "
                         "created_ms, expires_ms, used_by FROM invites "
                         "ORDER BY created_ms DESC, token_hash LIMIT 1000"))


def delete_unused_invite_txn(db: sqlite_utils.Database, invite_id: str) -> bool:
    """Withdraw an invite nobody used yet; False when there is no such one."""
    return db.execute(f"DELETE FROM invites WHERE substr(token_hash, 1, {INVITE_ID_CHARS}) = ? "
                      "AND used_by IS NULL", [invite_id]).rowcount > 0


@dataclass(frozen=True)
class NewDevice:
    """A device being added to an account: its id, name and its access token's hash."""

    device_id: str
    name: str
    token_hash: str


def add_device_txn(db: sqlite_utils.Database, address: str, device: NewDevice,
                   now_ms: int) -> int:
    cur = db.execute("INSERT INTO devices (address, device_id, name, token_hash, created_ms, "
                     "last_seen_ms) VALUES (?, ?, ?, ?, ?, ?)",
                     [address, device.device_id, device.name, device.token_hash, now_ms,
                      now_ms])
    return int(cur.lastrowid or 0)


_DEVICE_COLS = ("d.pk, d.address, d.device_id, d.name, d.created_ms, d.last_seen_ms, "
                "d.device_keys IS NOT NULL AS has_keys, a.role")


def token_owner(db: sqlite_utils.Database, token_hash: str) -> tuple[str, str, int, str] | None:
    """(address, device id, device pk, role) of the device holding the token."""
    row = db.execute("SELECT d.address, d.device_id, d.pk, a.role FROM devices d "
                     "JOIN accounts a ON a.address = d.address WHERE d.token_hash = ?",
                     [token_hash]).fetchone()
    return None if row is None else (row[0], row[1], int(row[2]), row[3])


def device_last_seen(db: sqlite_utils.Database, pk: int) -> int | None:
    """When the device last acknowledged its stream (None: no such device)."""
    row = db.execute("SELECT last_seen_ms FROM devices WHERE pk = ?", [pk]).fetchone()
    return None if row is None else int(row[0] or 0)


def touch_device_txn(db: sqlite_utils.Database, pk: int, now_ms: int, every_ms: int = 0) -> None:
    """The device was seen now: rewrite ``last_seen_ms`` unless it is under ``every_ms``
    old (a row left as it is dirties no page of the transaction)."""
    db.execute("UPDATE devices SET last_seen_ms = ? WHERE pk = ? AND last_seen_ms <= ?",
               [now_ms, pk, now_ms - every_ms])


def list_devices(db: sqlite_utils.Database, address: str) -> list[dict[str, Any]]:
    return list(db.query(f"SELECT {_DEVICE_COLS} FROM devices d JOIN accounts a "
                         "ON a.address = d.address WHERE d.address = ? ORDER BY d.created_ms",
                         [address]))


_NOW_MS = "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"


def _revoke_tokens(db: sqlite_utils.Database, where: str, params: list[Any]) -> None:
    db.execute(f"INSERT OR IGNORE INTO revoked_tokens (token_hash, revoked_ms) "
               f"SELECT token_hash, {_NOW_MS} FROM devices WHERE token_hash IS NOT NULL "
               f"AND {where}", params)


def is_revoked_token(db: sqlite_utils.Database, token_hash: str) -> bool:
    """True when the token was a device's that was logged out, revoked or removed."""
    return db.execute("SELECT 1 FROM revoked_tokens WHERE token_hash = ?",
                      [token_hash]).fetchone() is not None


def delete_device_txn(db: sqlite_utils.Database, address: str, device_id: str) -> bool:
    """Delete a device (its token is remembered as revoked); False when there is none."""
    _revoke_tokens(db, "address = ? AND device_id = ?", [address, device_id])
    return db.execute("DELETE FROM devices WHERE address = ? AND device_id = ?",
                      [address, device_id]).rowcount == 1


def device_exists(db: sqlite_utils.Database, pk: int) -> bool:
    return db.execute("SELECT 1 FROM devices WHERE pk = ?", [pk]).fetchone() is not None


def live_device_pks(db: sqlite_utils.Database, pks: list[int]) -> set[int]:
    """Which of ``pks`` still name a device."""
    live: set[int] = set()
    for start in range(0, len(pks), 500):
        chunk = pks[start:start + 500]
        marks = ",".join("?" * len(chunk))
        live.update(r[0] for r in db.execute(
            f"SELECT pk FROM devices WHERE pk IN ({marks})", chunk))
    return live


def keyed_device_ids(db: sqlite_utils.Database, address: str) -> dict[str, int]:
    """Device id -> pk for the devices of ``address`` that have uploaded keys."""
    return {r[0]: r[1] for r in db.execute(
        "SELECT device_id, pk FROM devices WHERE address = ? AND device_keys IS NOT NULL",
        [address])}


def team_devices(db: sqlite_utils.Database, business: str) -> list[tuple[str, int, str]]:
    """(device id, pk, account) of every keyed device answering for ``business``: the
    business account's own (automation) devices and every admin's and agent's."""
    return [(r[0], r[1], r[2]) for r in db.execute(
        "SELECT d.device_id, d.pk, d.address FROM devices d JOIN accounts a "
        "ON a.address = d.address WHERE d.device_keys IS NOT NULL "
        "AND (d.address = ? OR a.role IN (?, ?)) ORDER BY d.pk",
        [business, Role.ADMIN, Role.AGENT])]


def get_device_keys(db: sqlite_utils.Database, pk: int) -> tuple[Any, Any]:
    row = db.execute("SELECT device_keys, signed_prekey FROM devices WHERE pk = ?",
                     [pk]).fetchone()
    if row is None:
        return None, None
    return (json.loads(row[0]) if row[0] else None, json.loads(row[1]) if row[1] else None)


def set_device_keys_txn(db: sqlite_utils.Database, pk: int, device_keys: Any | None,
                        signed_prekey: Any | None) -> None:
    if device_keys is not None:
        db.execute("UPDATE devices SET device_keys = ? WHERE pk = ?",
                   [json.dumps(device_keys, sort_keys=True), pk])
    if signed_prekey is not None:
        db.execute("UPDATE devices SET signed_prekey = ? WHERE pk = ?",
                   [json.dumps(signed_prekey, sort_keys=True), pk])


def add_one_time_prekeys_txn(db: sqlite_utils.Database, pk: int,
                             prekeys: list[tuple[str, Any]]) -> int:
    """Store new prekeys (ids already present are ignored); return the count held."""
    db.conn.executemany("INSERT OR IGNORE INTO one_time_prekeys (device_pk, key_id, doc) "
                        "VALUES (?, ?, ?)",
                        [(pk, key_id, json.dumps(doc, sort_keys=True))
                         for key_id, doc in prekeys])
    return count_one_time_prekeys(db, pk)


def count_one_time_prekeys(db: sqlite_utils.Database, pk: int) -> int:
    return db.execute("SELECT COUNT(*) FROM one_time_prekeys WHERE device_pk = ?",
                      [pk]).fetchone()[0]


def claim_one_time_prekey_txn(db: sqlite_utils.Database, pk: int) -> Any | None:
    """Remove and return one prekey of the device (inside the write transaction, so no
    two claims can receive the same one)."""
    row = db.execute("SELECT key_id, doc FROM one_time_prekeys WHERE device_pk = ? "
                     "ORDER BY rowid LIMIT 1", [pk]).fetchone()
    if row is None:
        return None
    db.execute("DELETE FROM one_time_prekeys WHERE device_pk = ? AND key_id = ?", [pk, row[0]])
    return json.loads(row[1])


def drop_one_time_prekeys_txn(db: sqlite_utils.Database) -> int:
    """Forget every device's one-time prekeys (after a restore some of them may have
    been handed out already); devices upload new ones."""
    return db.execute("DELETE FROM one_time_prekeys").rowcount


def add_guest_txn(db: sqlite_utils.Database, address: str, now_ms: int) -> None:
    """Mark an account just created as a guest of the web chat."""
    db.execute("INSERT INTO guests (address, created_ms) VALUES (?, ?)", [address, now_ms])


def is_guest(db: sqlite_utils.Database, address: str) -> bool:
    return db.execute("SELECT 1 FROM guests WHERE address = ?",
                      [address]).fetchone() is not None


def live_guest_count(db: sqlite_utils.Database) -> int:
    """Guests without a password (the ones that expire)."""
    return db.execute("SELECT COUNT(*) FROM guests g JOIN accounts a ON a.address = "
                      "g.address WHERE a.password_hash IS NULL").fetchone()[0]


def idle_guests(db: sqlite_utils.Database, seen_before_ms: int, limit: int) -> list[str]:
    """Up to ``limit`` guests without a password whose devices (or, with none, the
    account itself) were last seen before ``seen_before_ms``, oldest first."""
    return [r[0] for r in db.execute(
        "SELECT g.address, MAX(g.created_ms, COALESCE((SELECT MAX(d.last_seen_ms) FROM "
        "devices d WHERE d.address = g.address), 0)) AS seen FROM guests g JOIN accounts a "
        "ON a.address = g.address WHERE a.password_hash IS NULL AND seen < ? "
        "ORDER BY seen LIMIT ?", [seen_before_ms, limit])]


def use_guest_challenge_txn(db: sqlite_utils.Database, challenge_hash: str,
                            expires_ms: int) -> bool:
    """Record a proof-of-work challenge as used; False when it was used before."""
    return db.execute("INSERT OR IGNORE INTO guest_challenges (challenge_hash, expires_ms) "
                      "VALUES (?, ?)", [challenge_hash, expires_ms]).rowcount == 1


def expire_guest_challenges_txn(db: sqlite_utils.Database, now_ms: int) -> int:
    """Forget used challenges past their expiry (they are refused as expired anyway)."""
    return db.execute("DELETE FROM guest_challenges WHERE expires_ms < ?",
                      [now_ms]).rowcount
