"""X3DH: both sides agree, with and without a one-time prekey; AD binds both identities."""

from __future__ import annotations

import pytest

from crypto.errors import DecryptionError, InvalidKey
from crypto.identity import DeviceIdentity
from crypto.keys import X25519Key
from crypto.session import Session
from crypto.x3dh import initiate, respond
from tests.crypto.factories import responder


@pytest.mark.parametrize("with_otk", [True, False])
def test_both_sides_agree(with_otk: bool) -> None:
    alice, bob = DeviceIdentity.generate(), responder(with_otk)
    ours = initiate(alice, bob.verified())
    theirs = respond(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                     alice.signing.public_key, alice.dh.public_key, ours.ephemeral_public)
    assert ours == theirs
    assert len(ours.secret) == 32
    assert ours.associated_data == (alice.signing.public_key + alice.dh.public_key
                                    + bob.identity.signing.public_key
                                    + bob.identity.dh.public_key)


def test_injected_ephemeral_is_deterministic_and_otk_matters() -> None:
    alice, bob = DeviceIdentity.generate(), responder()
    ephemeral = X25519Key.generate()
    first = initiate(alice, bob.verified(), ephemeral)
    assert initiate(alice, bob.verified(), ephemeral) == first
    assert first.ephemeral_public == ephemeral.public_key
    wrong_otk = respond(bob.identity, bob.signed_prekey, X25519Key.generate(),
                        alice.signing.public_key, alice.dh.public_key, first.ephemeral_public)
    assert wrong_otk.secret != first.secret
    without = respond(bob.identity, bob.signed_prekey, None, alice.signing.public_key,
                      alice.dh.public_key, first.ephemeral_public)
    assert without.secret != first.secret


def test_another_identity_changes_secret_or_ad() -> None:
    alice, mallory, bob = DeviceIdentity.generate(), DeviceIdentity.generate(), responder()
    ours = initiate(alice, bob.verified())
    # Claiming Alice's X25519 key without its private half changes the secret (DH1).
    spoofed = respond(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                      alice.signing.public_key, mallory.dh.public_key, ours.ephemeral_public)
    assert spoofed.secret != ours.secret
    # Claiming another Ed25519 key keeps the secret but changes the AD.
    relabelled = respond(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                         mallory.signing.public_key, alice.dh.public_key, ours.ephemeral_public)
    assert relabelled.secret == ours.secret
    assert relabelled.associated_data != ours.associated_data


@pytest.mark.parametrize("field", [slice(2, 34), slice(34, 66)])
def test_session_refuses_a_swapped_initiator_identity(field: slice) -> None:
    alice, mallory, bob = DeviceIdentity.generate(), DeviceIdentity.generate(), responder()
    message = Session.initiate(alice, bob.verified()).encrypt(b"hello")
    replacement = (mallory.signing.public_key if field.start == 2 else mallory.dh.public_key)
    forged = message[:field.start] + replacement + message[field.stop:]
    with pytest.raises(DecryptionError):
        Session.accept(bob.identity, bob.signed_prekey, bob.one_time_prekey, forged)
    session, plaintext = Session.accept(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                                        message)
    assert plaintext == b"hello"
    assert session.remote_signing_key == alice.signing.public_key
    assert session.remote_identity_key == alice.dh.public_key


def test_respond_refuses_bad_keys() -> None:
    bob = responder()
    with pytest.raises(InvalidKey):
        respond(bob.identity, bob.signed_prekey, None, bytes(32), bytes(32), bytes(32))
    with pytest.raises(InvalidKey):
        respond(bob.identity, bob.signed_prekey, None, bytes(31),
                X25519Key.generate().public_key, X25519Key.generate().public_key)
