"""The SDK's local store: one SQLite file, every secret sealed under a passphrase.

A key is derived from the passphrase with argon2id (salt kept in the file); each secret
value (identity, prekeys, ratchet sessions, message contents, the access token) is
sealed with XChaCha20-Poly1305, bound to the row it belongs to as associated data, so
rows cannot be swapped. A wrong passphrase is detected by a sealed check value.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nacl.bindings as b
import nacl.exceptions
import nacl.pwhash
import nacl.utils

from crypto.session import Session
from node.client.errors import DeviceRevoked, StoreError
from node.client.history_queue import HistoryQueue
from node.client.store_cache import SealedCache
from node.client.store_schema import SCHEMA

CHECK = b"kontor-store-v1"
DEFAULT_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_INTERACTIVE
DEFAULT_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_INTERACTIVE


class _Wiped:
    """Stands in for the connection of a wiped store: every use says why it is gone."""

    def __getattr__(self, name: str) -> Any:
        raise DeviceRevoked(401, "DEVICE_REVOKED", "this device was revoked and its local "
                            "store wiped; log in again for a new device")


class Store:
    """A passphrase-protected local store. Use ``Store.open``."""

    def __init__(self, conn: sqlite3.Connection, key: bytes, durable: bool = True) -> None:
        self._conn = conn
        self._key = key
        self._durable = durable
        self._cache = SealedCache(  # secrets and sessions, once opened (store_cache)
            lambda: int(conn.execute("PRAGMA data_version").fetchone()[0]))
        #: The messages whose history copy waits to go up (``history_queue``).
        self.history_queue = HistoryQueue(lambda: self._conn)

    @classmethod
    def open(cls, path: str | Path, passphrase: str, *, opslimit: int | None = None,
             memlimit: int | None = None, durable: bool = True) -> Store:
        """Open or create the store at ``path``; StoreError on a wrong passphrase.

        ``durable=False`` skips the disk sync of ``batch`` (a power cut may then lose
        the last moments: for load generators and bots, never for people's apps)."""
        path = Path(path)
        new = not path.exists()
        if new:
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        try:
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")  # see batch() for synced writes
            conn.execute("PRAGMA secure_delete = ON")  # forgotten rows are overwritten
            conn.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a Kontor store ({exc})") from None
        salt, cost = cls._meta(conn, "salt"), cls._meta(conn, "kdf_cost")
        if salt is None or cost is None:
            salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
            cost = f"{opslimit or DEFAULT_OPSLIMIT} {memlimit or DEFAULT_MEMLIMIT}".encode()
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('salt', ?)", [salt])
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('kdf_cost', ?)", [cost])
        ops, mem = (int(v) for v in cost.split())  # the cost the store was created with
        key = nacl.pwhash.argon2id.kdf(32, passphrase.encode(), salt, opslimit=ops,
                                       memlimit=mem)
        store = cls(conn, key, durable)
        check = cls._meta(conn, "check")
        if check is None:
            conn.execute("INSERT INTO meta VALUES ('check', ?)", [store._seal(CHECK, "check")])
        elif store._open(check, "check") != CHECK:
            raise StoreError("wrong passphrase for this store")
        return store

    @staticmethod
    def _meta(conn: sqlite3.Connection, key: str) -> bytes | None:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def close(self) -> None:
        self._cache.clear()
        self._conn.close()

    @contextlib.contextmanager
    def batch(self, synced: bool = True) -> Iterator[None]:
        """Group writes into one transaction that is on disk (synced) when the block
        ends; nests harmlessly. Used for what must survive a power cut: ratchet states
        before a message leaves, and received messages before they are acknowledged.
        ``synced=False``: atomic, but not synced at once (survives an app crash)."""
        if self._conn.in_transaction:
            yield
            return
        if self._durable and synced:
            self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute("BEGIN IMMEDIATE")
        self._cache.begin()
        committed = False
        try:
            yield
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        finally:
            try:
                if self._conn.in_transaction:
                    self._conn.execute("COMMIT")
                    committed = True
            except BaseException:  # (a COMMIT that failed may leave the transaction open)
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            finally:
                self._cache.end(committed)
                if self._durable and synced:
                    self._conn.execute("PRAGMA synchronous = NORMAL")

    @property
    def in_batch(self) -> bool:
        """Whether a local transaction is open (what is read may still roll back)."""
        return self._conn.in_transaction

    def _seal(self, data: bytes, ad: str) -> bytes:
        nonce = nacl.utils.random(24)
        return nonce + b.crypto_aead_xchacha20poly1305_ietf_encrypt(
            data, ad.encode(), nonce, self._key)

    def _open(self, sealed: bytes, ad: str) -> bytes:
        try:
            return b.crypto_aead_xchacha20poly1305_ietf_decrypt(
                sealed[24:], ad.encode(), sealed[:24], self._key)
        except nacl.exceptions.CryptoError:
            raise StoreError("wrong passphrase, or the store was tampered with") from None

    # secrets: identity, account, token
    def put_secret(self, name: str, value: bytes) -> None:
        self._conn.execute("INSERT INTO secrets VALUES (?, ?) ON CONFLICT (name) DO UPDATE "
                           "SET value = excluded.value", [name, self._seal(value, "s:" + name)])
        self._cache.put("s:" + name, value)

    def get_secret(self, name: str) -> bytes | None:
        known, cached = self._lookup("s:" + name)
        if known:
            return cached
        row = self._conn.execute("SELECT value FROM secrets WHERE name = ?", [name]).fetchone()
        if row is None:
            return None
        value = self._open(row[0], "s:" + name)
        self._cache.put("s:" + name, value)
        return value

    def _lookup(self, ad: str) -> tuple[bool, bytes | None]:
        if not self._conn.in_transaction:
            self._cache.check()  # (another process may have written the file)
        return self._cache.lookup(ad)

    def put_json(self, name: str, value: Any) -> None:
        self.put_secret(name, json.dumps(value).encode())

    def get_json(self, name: str) -> Any:
        raw = self.get_secret(name)
        return json.loads(raw) if raw is not None else None

    # prekeys
    def put_prekey(self, key_id: str, kind: str, secret: bytes) -> None:
        self._conn.execute("INSERT OR REPLACE INTO prekeys VALUES (?, ?, ?, ?)",
                           [key_id, kind, self._seal(secret, "p:" + key_id), _now()])

    def get_prekey(self, key_id: str) -> bytes | None:
        row = self._conn.execute("SELECT secret FROM prekeys WHERE key_id = ?",
                                 [key_id]).fetchone()
        return self._open(row[0], "p:" + key_id) if row else None

    def delete_prekey(self, key_id: str) -> None:
        self._conn.execute("DELETE FROM prekeys WHERE key_id = ?", [key_id])

    def prekey_ids(self, kind: str) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT key_id FROM prekeys WHERE kind = ? ORDER BY created_ms", [kind])]

    # ratchet sessions
    def put_session(self, address: str, device_id: str, state: bytes) -> None:
        ad = f"r:{address}/{device_id}"
        self._conn.execute("INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)",
                           [address, device_id, self._seal(state, ad), _now()])
        self._cache.put(ad, state)

    def get_session(self, address: str, device_id: str) -> bytes | None:
        ad = f"r:{address}/{device_id}"
        known, cached = self._lookup(ad)
        if known:
            return cached
        row = self._conn.execute("SELECT state FROM sessions WHERE address = ? AND "
                                 "device_id = ?", [address, device_id]).fetchone()
        if row is None:
            return None
        state = self._open(row[0], ad)
        self._cache.put(ad, state)
        return state

    def load_session(self, address: str, device_id: str) -> Session | None:
        """The session with a device, to advance and ``save_session`` (None: none)."""
        state = self.get_session(address, device_id)
        if state is None:
            return None
        kept = self._cache.take(f"r:{address}/{device_id}", state)
        return kept if isinstance(kept, Session) else Session.from_bytes(state)

    def save_session(self, address: str, device_id: str, session: Session) -> None:
        state = session.to_bytes()
        self.put_session(address, device_id, state)
        self._cache.keep(f"r:{address}/{device_id}", state, session)

    # the inbox: events received and stored, not yet handed to the app (in order)
    def push_event(self, event: dict[str, Any]) -> None:
        item_id = nacl.utils.random(12).hex()
        self._conn.execute("INSERT INTO inbox (item_id, item) VALUES (?, ?)",
                           [item_id, self._seal(json.dumps(event).encode(), "i:" + item_id)])

    def pop_events(self, limit: int) -> list[dict[str, Any]]:
        """Take the oldest ``limit`` waiting events out of the inbox."""
        with self.batch(synced=False):
            rows = self._conn.execute("SELECT seq, item_id, item FROM inbox ORDER BY seq "
                                      "LIMIT ?", [limit]).fetchall()
            if rows:
                self._conn.execute("DELETE FROM inbox WHERE seq <= ?", [rows[-1][0]])
        return [json.loads(self._open(r[2], "i:" + r[1])) for r in rows]

    # session starts accepted (their ephemeral keys, hashed), so a replay is refused
    def seen_handshake(self, ephemeral_key: bytes) -> bool:
        digest = hashlib.sha256(b"kontor-handshake" + ephemeral_key).digest()
        return self._conn.execute("SELECT 1 FROM handshakes WHERE digest = ?",
                                  [digest]).fetchone() is not None

    def remember_handshake(self, ephemeral_key: bytes) -> None:
        digest = hashlib.sha256(b"kontor-handshake" + ephemeral_key).digest()
        self._conn.execute("INSERT OR IGNORE INTO handshakes VALUES (?, ?)", [digest, _now()])

    # known devices (trust on first use, upgraded by fingerprint verification)
    def remember_device(self, address: str, device_id: str, identity_key: str) -> str | None:
        """Record a device's identity key; return the previously known key if different."""
        row = self._conn.execute("SELECT identity_key FROM devices WHERE address = ? AND "
                                 "device_id = ?", [address, device_id]).fetchone()
        if row is None:
            self._conn.execute("INSERT INTO devices VALUES (?, ?, ?, 0, ?)",
                               [address, device_id, identity_key, _now()])
            return None
        return row[0] if row[0] != identity_key else None

    def upgrade_device_key(self, address: str, device_id: str, identity_key: str) -> None:
        """Replace a pin in an older form by its current form (same device, same key)."""
        self._conn.execute("UPDATE devices SET identity_key = ? WHERE address = ? AND "
                           "device_id = ?", [identity_key, address, device_id])

    def device_key(self, address: str, device_id: str) -> tuple[str, bool] | None:
        row = self._conn.execute("SELECT identity_key, verified FROM devices WHERE "
                                 "address = ? AND device_id = ?",
                                 [address, device_id]).fetchone()
        return (row[0], bool(row[1])) if row else None

    def set_verified(self, address: str, device_id: str, verified: bool = True) -> None:
        self._conn.execute("UPDATE devices SET verified = ? WHERE address = ? AND "
                           "device_id = ?", [int(verified), address, device_id])

    def drop_sessions(self) -> int:
        """Forget every session (a device restored from a backup, whose ratchets went
        back in time, starts new ones); returns how many there were."""
        self._cache.clear()
        return self._conn.execute("DELETE FROM sessions").rowcount

    def forget(self, address: str) -> int:
        """Remove everything about ``address`` (sessions, pinned keys, history) so that
        no trace stays in the file; returns the rows removed. (Events still waiting in
        the inbox are sealed; they leave it when handed to the app.)"""
        removed = 0
        self._cache.clear()
        with self.batch():
            removed += self.history_queue.forget(address)
            for sql in ("DELETE FROM sessions WHERE address = ?",
                        "DELETE FROM devices WHERE address = ?",
                        "DELETE FROM messages WHERE peer = ? OR sender = ?"):
                removed += self._conn.execute(sql, [address] * sql.count("?")).rowcount
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return removed

    # message history
    def has_message(self, message_id: str) -> bool:
        return self._conn.execute("SELECT 1 FROM messages WHERE message_id = ?",
                                  [message_id]).fetchone() is not None

    def add_message(self, message_id: str, peer: str, sender: str, sender_device: str,
                    outgoing: bool, ts: int, content: dict[str, Any]) -> bool:
        sealed = self._seal(json.dumps(content).encode(), "m:" + message_id)
        cur = self._conn.execute("INSERT OR IGNORE INTO messages (message_id, peer, sender, "
                                 "sender_device, outgoing, ts, content) VALUES "
                                 "(?, ?, ?, ?, ?, ?, ?)",
                                 [message_id, peer, sender, sender_device, int(outgoing), ts,
                                  sealed])
        return cur.rowcount == 1

    def get_message(self, message_id: str) -> dict[str, Any] | None:
        """One stored message (as ``history`` gives them), None when unknown."""
        r = self._conn.execute(
            "SELECT message_id, peer, sender, sender_device, outgoing, ts, content "
            "FROM messages WHERE message_id = ?", [message_id]).fetchone()
        if r is None:
            return None
        return {"message_id": r[0], "peer": r[1], "sender": r[2], "sender_device": r[3],
                "outgoing": bool(r[4]), "ts": r[5],
                "content": json.loads(self._open(r[6], "m:" + r[0]))}

    def wipe(self) -> None:
        """Close the store and delete its file (and SQLite's side files): what a revoked
        device does. A copy taken before cannot be reached from here."""
        path = self._conn.execute("PRAGMA database_list").fetchone()[2]
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._cache.clear()
        self._conn.close()
        self._conn = _Wiped()  # type: ignore[assignment]
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path + suffix)

    def latest_ts(self, message_ids: list[str] | tuple[str, ...], peer: str) -> int | None:
        """The newest time among the given messages we sent to ``peer`` (None: none)."""
        marks = ",".join("?" * len(message_ids))
        row = self._conn.execute(
            f"SELECT MAX(ts) FROM messages WHERE message_id IN ({marks}) AND peer = ? "
            "AND outgoing = 1", [*message_ids, peer]).fetchone()
        return row[0] if row else None

    def mark(self, message_id: str, column: str) -> None:
        assert column in ("delivered", "read")
        self._conn.execute(f"UPDATE messages SET {column} = 1 WHERE message_id = ?",
                           [message_id])

    def conversations(self) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT peer, MAX(ts), COUNT(*), SUM(CASE WHEN outgoing = 0 AND read = 0 "
            "THEN 1 ELSE 0 END) FROM messages GROUP BY peer ORDER BY MAX(ts) DESC")
        return [{"peer": r[0], "last_ts": r[1], "messages": r[2], "unread": r[3]}
                for r in rows]

    def history(self, peer: str, limit: int = 50,
                before: tuple[int, str] | None = None) -> list[dict[str, Any]]:
        """The last ``limit`` messages with ``peer`` (strictly before the (ts, message
        id) cursor ``before``), oldest first; ``content`` is the content object as sent
        (with ``from`` and ``to``). Ordered by (ts, message id), as the node's copies."""
        where, args = "peer = ?", list[Any]([peer])
        if before is not None:
            where += " AND (ts < ? OR (ts = ? AND message_id < ?))"
            args += [before[0], before[0], before[1]]
        rows = self._conn.execute(
            "SELECT message_id, sender, sender_device, outgoing, ts, content, delivered, read "
            f"FROM messages WHERE {where} ORDER BY ts DESC, message_id DESC LIMIT ?",
            [*args, limit])
        out = [{"message_id": r[0], "peer": peer, "sender": r[1], "sender_device": r[2],
                "outgoing": bool(r[3]), "ts": r[4],
                "content": json.loads(self._open(r[5], "m:" + r[0])),
                "delivered": bool(r[6]), "read": bool(r[7])} for r in rows]
        return out[::-1]

    def message_ids(self, limit: int) -> list[str]:
        """The ids of the newest ``limit`` stored messages, newest first."""
        return [r[0] for r in self._conn.execute(
            "SELECT message_id FROM messages ORDER BY ts DESC, message_id DESC LIMIT ?",
            [limit])]

    def delete_secret(self, name: str) -> None:
        self._conn.execute("DELETE FROM secrets WHERE name = ?", [name])
        self._cache.put("s:" + name, None)


def _now() -> int:
    return int(time.time() * 1000)
