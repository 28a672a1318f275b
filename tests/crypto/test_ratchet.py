"""Double Ratchet: ordering, replay, tampering, limits and state round trips."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import DecryptionError, DuplicateMessage, SessionStateError, TooManySkipped
from crypto.keys import X25519Key
from crypto.ratchet import HEADER_SIZE, MAX_SKIP, MAX_SKIPPED_KEYS, Ratchet
from crypto.session import Session
from tests.crypto.factories import session_pair

PROPERTY = settings(max_examples=60, deadline=None)


def ratchet_pair() -> tuple[Ratchet, Ratchet]:
    """(initiator, responder) ratchets sharing a secret; the responder has not received."""
    secret, ad, spk = os.urandom(32), os.urandom(128), X25519Key.generate()
    return Ratchet.initiator(secret, ad, spk.public_key), Ratchet.responder(secret, ad, spk)


def flip(message: bytes, bit: int) -> bytes:
    data = bytearray(message)
    data[bit // 8] ^= 1 << (bit % 8)
    return bytes(data)


@given(st.data())
@PROPERTY
def test_any_interleaving_decrypts_every_message_exactly_once(data: st.DataObject) -> None:
    alice, bob = session_pair()
    sides = {"alice": alice, "bob": bob}
    other = {"alice": "bob", "bob": "alice"}
    in_flight: dict[str, list[tuple[bytes, bytes]]] = {"alice": [], "bob": []}
    delivered: list[tuple[Session, bytes]] = []
    for step in range(data.draw(st.integers(1, 40), label="steps")):
        who = data.draw(st.sampled_from(["alice", "bob"]), label="who")
        if data.draw(st.booleans(), label="send") or not in_flight[who]:
            plaintext = f"{who} {step}".encode()
            in_flight[who].append((sides[who].encrypt(plaintext), plaintext))
        else:
            index = data.draw(st.integers(0, len(in_flight[who]) - 1), label="pick")
            wire, plaintext = in_flight[who].pop(index)
            assert sides[other[who]].decrypt(wire) == plaintext
            delivered.append((sides[other[who]], wire))
    for who in ("alice", "bob"):
        for wire, plaintext in data.draw(st.permutations(in_flight[who]), label="rest"):
            assert sides[other[who]].decrypt(wire) == plaintext
            delivered.append((sides[other[who]], wire))
    replays = data.draw(st.lists(st.sampled_from(delivered), max_size=5), label="replays")
    for receiver, wire in replays:
        with pytest.raises(DuplicateMessage):
            receiver.decrypt(wire)


@given(st.data())
@PROPERTY
def test_single_bit_flip_is_refused_and_changes_nothing(data: st.DataObject) -> None:
    alice, bob = session_pair()
    for _ in range(data.draw(st.integers(0, 3), label="warmup")):
        assert alice.decrypt(bob.encrypt(b"ping")) == b"ping"
        assert bob.decrypt(alice.encrypt(b"pong")) == b"pong"
    sender, receiver = data.draw(st.sampled_from([(alice, bob), (bob, alice)]), label="dir")
    plaintext = data.draw(st.binary(max_size=64), label="plaintext")
    wire = sender.encrypt(plaintext)
    bit = data.draw(st.integers(0, len(wire) * 8 - 1), label="bit")
    before = receiver.to_bytes()
    with pytest.raises(DecryptionError):
        receiver.decrypt(flip(wire, bit))
    assert receiver.to_bytes() == before
    assert receiver.decrypt(wire) == plaintext


@given(st.data())
@PROPERTY
def test_state_round_trips_mid_conversation(data: st.DataObject) -> None:
    alice, bob = session_pair()
    in_flight: list[tuple[Session, bytes, bytes]] = []
    for step in range(data.draw(st.integers(1, 20), label="steps")):
        sender, receiver = data.draw(st.sampled_from([(alice, bob), (bob, alice)]))
        if data.draw(st.booleans(), label="deliver-now"):
            assert receiver.decrypt(sender.encrypt(b"%d" % step)) == b"%d" % step
        else:
            in_flight.append((receiver, sender.encrypt(b"late %d" % step), b"late %d" % step))
    restored = {id(alice): Session.from_bytes(alice.to_bytes()),
                id(bob): Session.from_bytes(bob.to_bytes())}
    for side in (alice, bob):
        assert restored[id(side)].to_bytes() == side.to_bytes()
    for receiver, wire, plaintext in data.draw(st.permutations(in_flight), label="order"):
        assert restored[id(receiver)].decrypt(wire) == plaintext
    new_alice, new_bob = restored[id(alice)], restored[id(bob)]
    assert new_bob.decrypt(new_alice.encrypt(b"after")) == b"after"
    assert new_alice.decrypt(new_bob.encrypt(b"reply")) == b"reply"


def test_duplicates_are_refused_in_current_skipped_and_old_chains() -> None:
    alice, bob = session_pair()
    first, second = alice.encrypt(b"1"), alice.encrypt(b"2")
    assert bob.decrypt(second) == b"2"
    with pytest.raises(DuplicateMessage):
        bob.decrypt(second)  # current chain
    assert bob.decrypt(first) == b"1"
    with pytest.raises(DuplicateMessage):
        bob.decrypt(first)  # a consumed skipped key
    assert alice.decrypt(bob.encrypt(b"r")) == b"r"
    assert bob.decrypt(alice.encrypt(b"3")) == b"3"  # alice moved to a new chain
    with pytest.raises(DuplicateMessage):
        bob.decrypt(first)  # an old chain
    state = bob.to_bytes()
    with pytest.raises(DuplicateMessage):
        bob.decrypt(second)
    assert bob.to_bytes() == state


def test_skip_bound() -> None:
    alice, bob = ratchet_pair()
    messages = [alice.encrypt(b"%d" % i) for i in range(MAX_SKIP + 2)]
    before = bob.to_bytes()
    with pytest.raises(TooManySkipped):
        bob.decrypt(messages[MAX_SKIP + 1])
    assert bob.to_bytes() == before
    assert bob.decrypt(messages[MAX_SKIP]) == b"%d" % MAX_SKIP  # exactly MAX_SKIP skipped
    assert bob.decrypt(messages[0]) == b"0"
    assert bob.decrypt(messages[MAX_SKIP + 1]) == b"%d" % (MAX_SKIP + 1)


def test_skip_bound_across_a_ratchet_step() -> None:
    alice, bob = ratchet_pair()
    bob.decrypt(alice.encrypt(b"hello"))
    for _ in range(MAX_SKIP + 1):
        alice.encrypt(b"lost")
    alice.decrypt(bob.encrypt(b"reply"))
    with pytest.raises(TooManySkipped):  # PN says MAX_SKIP + 2 messages, one received
        bob.decrypt(alice.encrypt(b"new chain"))


def test_stored_skipped_keys_are_capped_oldest_first() -> None:
    alice, bob = ratchet_pair()
    messages = [alice.encrypt(b"%d" % i) for i in range(MAX_SKIPPED_KEYS + 11)]
    for index in range(MAX_SKIP, len(messages), MAX_SKIP):
        bob.decrypt(messages[index])
    bob.decrypt(messages[-1])
    assert len(bob._skipped) == MAX_SKIPPED_KEYS
    with pytest.raises(DuplicateMessage):  # evicted: the oldest key is gone
        bob.decrypt(messages[0])
    assert bob.decrypt(messages[-2]) == b"%d" % (len(messages) - 2)


def test_responder_cannot_send_first_and_header_is_versioned() -> None:
    alice, bob = ratchet_pair()
    with pytest.raises(SessionStateError):
        bob.encrypt(b"too early")
    message = alice.encrypt(b"x")
    assert message[0] == 1 and len(message) == HEADER_SIZE + 1 + 16
    with pytest.raises(DecryptionError):
        bob.decrypt(b"\x02" + message[1:])
    with pytest.raises(DecryptionError):
        bob.decrypt(message[:HEADER_SIZE + 15])
    assert bob.decrypt(message) == b"x"


def test_injected_ratchet_keys_are_used_only_for_a_new_chain() -> None:
    alice, bob = ratchet_pair()
    bob.decrypt(alice.encrypt(b"a"))
    key = X25519Key.generate()
    first = bob.encrypt(b"b", key)
    assert first[1:33] == key.public_key
    assert bob.encrypt(b"c", X25519Key.generate())[1:33] == key.public_key


@pytest.mark.parametrize("cut", range(0, 60, 7))
def test_bad_state_bytes(cut: int) -> None:
    alice, bob = ratchet_pair()
    bob.decrypt(alice.encrypt(b"x"))
    state = bob.to_bytes()
    with pytest.raises(SessionStateError):
        Ratchet.from_bytes(state[:cut])
    with pytest.raises(SessionStateError):
        Ratchet.from_bytes(state + b"\x00")
    with pytest.raises(SessionStateError):
        Ratchet.from_bytes(b"\x09" + state[1:])
