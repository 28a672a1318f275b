"""Each storage module keeps its own tables: what the migrations that gave erasure its
columns fill in for rows already there, and the conversation list's fixed number of
queries."""

from __future__ import annotations

import json
from pathlib import Path

from federation import storage as fed_store
from node.storage import business as store
from node.storage import db as storage_db
from node.storage import messages as message_store
from node.storage.db import connect, create_database


def test_the_erasure_columns_are_filled_for_rows_already_queued(tmp_path: Path) -> None:
    db = connect(tmp_path / "old.sqlite")
    db.execute("PRAGMA journal_mode = WAL")
    for migrations in storage_db.MIGRATION_SETS:
        migrations.apply(db, stop_before={"0007_event_subject", "0002_outbox_parties"})
    db.execute("INSERT INTO accounts VALUES ('a@x', 'agent', NULL, 1)")
    db.execute("INSERT INTO devices (address, device_id, token_hash, created_ms, "
               "last_seen_ms) VALUES ('a@x', 'd1', 'h1', 1, 1)")
    conversation = {"type": "conversation", "conversation": {"customer": "carl@c.test"}}
    for kind, payload in (("conversation", conversation), ("message", {"sender": "b@x"})):
        db.execute("INSERT INTO events (device_pk, kind, payload, created_ms) "
                   "VALUES (1, ?, ?, 1)", [kind, json.dumps(payload)])
    items = {"message": {"message_id": "m_1", "sender": "a@x", "to": "carl@c.test"},
             "receipt": {"message_id": "m_2", "by": "a@x", "to": "dora@c.test"}}
    for kind, item in items.items():
        db.execute("INSERT INTO fed_outbox (destination, kind, item, size, created_ms) "
                   "VALUES ('c.test', ?, ?, 1, 1)", [kind, json.dumps(item)])
    for migrations in storage_db.MIGRATION_SETS:
        migrations.apply(db)
    assert [r[0] for r in db.execute("SELECT subject FROM events ORDER BY pos")] == \
        ["carl@c.test", None]
    assert db.execute("SELECT kind, sender, recipient, message_id FROM fed_outbox "
                      "ORDER BY id").fetchall() == [("message", "a@x", "carl@c.test", "m_1"),
                                                    ("receipt", "a@x", "dora@c.test", "m_2")]
    assert [i["message_id"] for i in fed_store.address_records(db, "a@x")["outbox"]] == \
        ["m_1", "m_2"]
    assert fed_store.erase_address_txn(db, "carl@c.test") == {"outbox": 1,
                                                              "remote_devices": 0}
    media, removed = message_store.erase_address_txn(db, "carl@c.test", set())
    assert (media, removed["events"]) == ([], 1)
    db.close()


def _conversations(db: object, n: int) -> None:
    for i in range(n):
        customer = f"c{i:02}@c.test"
        store.insert_conversation_txn(db, customer, "customer", 1000 + i, 1)  # type: ignore
        store.add_note_txn(db, customer, "a@x", "note", 1)  # type: ignore
        for when, label_id in enumerate((2, 1) if i % 2 else (1,)):
            store.attach_label_txn(db, customer, label_id, when)  # type: ignore


def test_the_conversation_list_takes_two_queries_however_long(tmp_path: Path) -> None:
    path = tmp_path / "k.sqlite"
    create_database(path)
    db = connect(path)
    store.create_label_txn(db, "vip", "red", 1)
    store.create_label_txn(db, "new", "blue", 1)
    _conversations(db, 30)
    statements: list[str] = []
    db.conn.set_trace_callback(statements.append)
    rows = store.list_conversations(db, status=None, label_id=None, assignee=None, kind=None,
                                    limit=25, after=None)
    db.conn.set_trace_callback(None)
    selects = [s for s in statements if s.startswith("SELECT")]
    assert len(rows) == 25 and len(selects) == 2, selects
    assert rows == [store.get_conversation(db, r["customer"]) for r in rows]
    assert [lb["label_id"] for lb in rows[0]["labels"]] == [2, 1], "in attachment order"
    assert rows[0]["notes"] == 1 and rows[0]["customer"] == "c29@c.test"
    db.close()
