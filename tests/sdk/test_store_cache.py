"""The store's plaintext cache (``node.client.store_cache``): a value is opened from the
file once, a change rolled back is never answered, and a wiped store answers nothing
from memory. A real store file; SQLite's trace shows which reads reach the file."""

from __future__ import annotations

from pathlib import Path

import nacl.pwhash
import pytest

from node.client.errors import DeviceRevoked
from node.client.store import Store
from tests.crypto.factories import session_pair


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "s.store", "pw", opslimit=nacl.pwhash.argon2id.OPSLIMIT_MIN,
                      memlimit=nacl.pwhash.argon2id.MEMLIMIT_MIN)


def _file_reads(store: Store) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.startswith("SELECT") else None)
    return seen


def test_a_value_is_read_from_the_file_once(store: Store) -> None:
    store.put_json("position", {"seq": 1})
    store.put_session("bob@b.test", "D1", b"state-1")
    reads = _file_reads(store)
    for _ in range(3):
        assert store.get_json("position") == {"seq": 1}
        assert store.get_session("bob@b.test", "D1") == b"state-1"
        assert store.get_secret("never-written") is None
    # only the value never written reaches the file (a missing value is not kept)
    assert len(reads) == 3 and all("FROM secrets" in sql for sql in reads), reads


def test_a_change_rolled_back_is_never_answered(store: Store) -> None:
    store.put_json("position", {"seq": 1})
    store.put_session("bob@b.test", "D1", b"state-1")
    with pytest.raises(RuntimeError), store.batch():
        store.put_json("position", {"seq": 2})
        store.put_session("bob@b.test", "D1", b"state-2")
        store.delete_secret("position")
        assert store.get_json("position") is None  # (the transaction sees its own)
        raise RuntimeError("the send failed")
    assert store.get_json("position") == {"seq": 1}
    assert store.get_session("bob@b.test", "D1") == b"state-1"

    with store.batch():
        store.put_session("bob@b.test", "D1", b"state-3")
    assert store.get_session("bob@b.test", "D1") == b"state-3"


def test_what_a_reopened_store_reads_is_what_was_committed(store: Store,
                                                          tmp_path: Path) -> None:
    with store.batch():
        store.put_json("position", {"seq": 5})
    store.put_secret("token", b"t")
    store.delete_secret("token")
    store.close()
    again = Store.open(tmp_path / "s.store", "pw")
    assert again.get_json("position") == {"seq": 5} and again.get_secret("token") is None
    again.close()


def test_forgetting_an_address_drops_its_sessions_from_memory(store: Store) -> None:
    store.put_session("bob@b.test", "D1", b"state-1")
    assert store.get_session("bob@b.test", "D1") == b"state-1"
    store.forget("bob@b.test")
    assert store.get_session("bob@b.test", "D1") is None
    store.put_session("bob@b.test", "D1", b"state-2")
    store.drop_sessions()
    assert store.get_session("bob@b.test", "D1") is None


def test_a_wiped_store_answers_nothing_from_memory(store: Store) -> None:
    store.put_secret("token", b"secret-token")
    assert store.get_secret("token") == b"secret-token"
    store.wipe()
    with pytest.raises(DeviceRevoked):
        store.get_secret("token")


def test_a_saved_session_is_handed_back_once_and_never_after_a_rollback(
        store: Store) -> None:
    """The object that saved a session state comes back at the next load (its state
    is not parsed again), once; after a rolled-back save the stored state wins."""
    alice, bob = session_pair()
    bob.decrypt(alice.encrypt(b"hello"))  # both sides now hold a running session
    store.save_session("bob@b.test", "D1", alice)
    assert store.load_session("bob@b.test", "D1") is alice
    again = store.load_session("bob@b.test", "D1")  # taken once: parsed this time
    assert again is not alice and again is not None
    assert again.to_bytes() == alice.to_bytes()

    before = alice.to_bytes()
    with pytest.raises(RuntimeError), store.batch():
        alice.encrypt(b"never sent")
        store.save_session("bob@b.test", "D1", alice)
        raise RuntimeError("the send failed")
    restored = store.load_session("bob@b.test", "D1")
    assert restored is not alice and restored is not None
    assert restored.to_bytes() == before
    assert bob.decrypt(restored.encrypt(b"after the rollback")) == b"after the rollback"


def test_what_another_connection_commits_is_never_answered_from_memory(
        store: Store, tmp_path: Path) -> None:
    """A second store on the same file (``kontor customer erase`` while the node's
    automation device runs) erases and writes: the first answers what the file holds."""
    store.put_session("carl@b.test", "D1", b"state-1")
    store.put_secret("token", b"old")
    assert store.get_session("carl@b.test", "D1") == b"state-1"
    assert store.get_secret("token") == b"old"
    other = Store.open(tmp_path / "s.store", "pw")
    try:
        other.forget("carl@b.test")
        other.put_secret("token", b"new")
    finally:
        other.close()
    assert store.get_session("carl@b.test", "D1") is None
    assert store.get_secret("token") == b"new"
    with store.batch():  # a transaction begun after the other's commit sees it too
        assert store.get_secret("token") == b"new"


def test_deleted_and_missing_values_take_no_memory(store: Store) -> None:
    """Every send stores and deletes its own ``outgoing:`` record: the cache must not
    keep one entry per message for ever."""
    for n in range(200):
        assert store.get_secret(f"outgoing:{n}") is None
        with store.batch():
            store.put_secret(f"outgoing:{n}", b"envelopes")
        store.delete_secret(f"outgoing:{n}")
    assert store._cache._committed == {}
