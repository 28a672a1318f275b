"""Sessions: wire layout, prekey messages, accept, limits and state."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.errors import CryptoError, DecryptionError, SessionStateError
from crypto.identity import DeviceIdentity
from crypto.keys import X25519Key
from crypto.session import (
    MAX_MESSAGE_SIZE,
    MAX_PLAINTEXT_SIZE,
    MessageTooLarge,
    PrekeyInfo,
    Session,
    peek_prekey,
)
from tests.crypto.factories import responder, session_pair


def test_prekey_message_layout_and_peek() -> None:
    alice, bob = DeviceIdentity.generate(), responder()
    ephemeral = X25519Key.generate()
    session = Session.initiate(alice, bob.verified(), ephemeral)
    wire = session.encrypt(b"hello")
    assert wire[:2] == b"\x01\x01"
    assert wire[2:34] == alice.signing.public_key
    assert wire[34:66] == alice.dh.public_key
    assert wire[66:98] == ephemeral.public_key
    assert wire[98] == 5 and wire[99:104] == b"spk-1"
    assert wire[104] == 5 and wire[105:110] == b"otk-1"
    assert wire[110] == 1  # ratchet header version
    assert len(wire) == 110 + 41 + 5 + 16
    assert peek_prekey(wire) == PrekeyInfo("spk-1", "otk-1", alice.signing.public_key,
                                           alice.dh.public_key, ephemeral.public_key)
    assert session.is_initiator and session.prekey_info == peek_prekey(wire)


def test_no_one_time_prekey_layout() -> None:
    bob = responder(with_otk=False)
    wire = Session.initiate(DeviceIdentity.generate(), bob.verified()).encrypt(b"")
    assert wire[98:105] == b"\x05spk-1\x00"
    info = peek_prekey(wire)
    assert info is not None and info.one_time_prekey_id is None
    session, plaintext = Session.accept(bob.identity, bob.signed_prekey, None, wire)
    assert plaintext == b"" and not session.is_initiator


def test_prekey_messages_until_first_reply() -> None:
    alice, bob = session_pair()
    again = alice.encrypt(b"still prekey")
    assert again[1] == 1 and bob.matches_prekey(peek_prekey(again))  # type: ignore[arg-type]
    assert bob.decrypt(again) == b"still prekey"
    reply = bob.encrypt(b"reply")
    assert reply[:2] == b"\x01\x02" and peek_prekey(reply) is None
    assert alice.decrypt(reply) == b"reply"
    normal = alice.encrypt(b"normal")
    assert normal[:3] == b"\x01\x02\x01" and len(normal) == 2 + 41 + 6 + 16
    assert bob.decrypt(normal) == b"normal"
    assert bob.remote_signing_key == alice.prekey_info.initiator_signing_key
    assert bob.remote_identity_key == alice.prekey_info.initiator_identity_key


def test_accept_refusals() -> None:
    bob = responder()
    wire = Session.initiate(DeviceIdentity.generate(), bob.verified()).encrypt(b"x")
    assert bob.one_time_prekey is not None
    with pytest.raises(DecryptionError):  # the one-time prekey was already used up
        Session.accept(bob.identity, bob.signed_prekey, None, wire)
    with pytest.raises(DecryptionError):
        Session.accept(bob.identity, X25519Key.generate(), bob.one_time_prekey, wire)
    with pytest.raises(DecryptionError):
        Session.accept(bob.identity, bob.signed_prekey, X25519Key.generate(), wire)
    with pytest.raises(DecryptionError):
        Session.accept(DeviceIdentity.generate(), bob.signed_prekey, bob.one_time_prekey, wire)
    alice, other_bob = session_pair()
    normal = other_bob.encrypt(b"n")
    with pytest.raises(DecryptionError):
        Session.accept(bob.identity, bob.signed_prekey, bob.one_time_prekey, normal)
    with pytest.raises(DecryptionError):  # a zero ephemeral key
        Session.accept(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                       wire[:66] + bytes(32) + wire[98:])


def test_prekey_message_of_another_session_and_to_the_initiator() -> None:
    alice, bob = session_pair()
    stranger = Session.initiate(DeviceIdentity.generate(), responder().verified())
    with pytest.raises(DecryptionError):
        bob.decrypt(stranger.encrypt(b"x"))
    with pytest.raises(DecryptionError):
        alice.decrypt(alice.encrypt(b"to myself"))


@pytest.mark.parametrize("wire", [
    b"", b"\x01", b"\x02\x02" + bytes(60), b"\x01\x03" + bytes(60), b"\x01\x02" + bytes(56),
    b"\x01\x01" + bytes(96) + b"\x00" + bytes(60), b"\x01\x01" + bytes(96) + b"\x05spk",
    b"\x01\x01" + bytes(96) + b"\x03s p\x00" + bytes(60),
    b"\x01\x01" + bytes(96) + b"\x02\xc3\xa9\x00" + bytes(60),
])
def test_malformed_messages(wire: bytes) -> None:
    alice, bob = session_pair()
    state = bob.to_bytes()
    with pytest.raises(DecryptionError):
        peek_prekey(wire)
    with pytest.raises(DecryptionError):
        bob.decrypt(wire)
    assert bob.to_bytes() == state


def test_size_limits() -> None:
    alice, bob = session_pair()
    largest = alice.encrypt(bytes(MAX_PLAINTEXT_SIZE))
    assert len(largest) <= MAX_MESSAGE_SIZE
    assert bob.decrypt(largest) == bytes(MAX_PLAINTEXT_SIZE)
    with pytest.raises(MessageTooLarge):
        alice.encrypt(bytes(MAX_PLAINTEXT_SIZE + 1))
    with pytest.raises(DecryptionError):
        bob.decrypt(b"\x01\x02" + bytes(MAX_MESSAGE_SIZE))
    assert issubclass(MessageTooLarge, CryptoError)


def test_state_round_trip_and_refusals() -> None:
    alice, bob = session_pair()
    for side in (alice, bob):
        state = side.to_bytes()
        again = Session.from_bytes(state)
        assert again.to_bytes() == state
        assert again.remote_signing_key == side.remote_signing_key
        assert again.is_initiator == side.is_initiator
        for cut in range(0, len(state), 13):
            with pytest.raises(SessionStateError):
                Session.from_bytes(state[:cut])
        for bad in (b"\x02" + state[1:], state[:1] + b"\x07" + state[2:], state + b"\x00"):
            with pytest.raises(SessionStateError):
                Session.from_bytes(bad)
    restored = Session.from_bytes(alice.to_bytes())
    assert restored.encrypt(b"x")[1] == 1  # still pending: prekey messages


@given(st.binary(max_size=400))
@settings(max_examples=100, deadline=None)
def test_garbage_state_is_refused(data: bytes) -> None:
    with pytest.raises(SessionStateError):
        Session.from_bytes(data)
