"""Plain factory functions for crypto tests: identities, bundles and session pairs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crypto.identity import (
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
)
from crypto.keys import X25519Key
from crypto.session import Session
from crypto.verify import VerifiedBundle, verify_bundle

BOB = "bob@other.example"
BOB_DEVICE = "BOBDEV1"


@dataclass
class Responder:
    """A device that published a bundle, with its private prekeys."""

    identity: DeviceIdentity
    signed_prekey: X25519Key
    one_time_prekey: X25519Key | None
    bundle: dict[str, Any]

    def verified(self, address: str = BOB) -> VerifiedBundle:
        """The bundle as an initiator verifies it."""
        return verify_bundle(self.bundle, address)


def responder(with_otk: bool = True, identity: DeviceIdentity | None = None) -> Responder:
    """A fresh responder device of bob@other.example with a published bundle."""
    identity = identity or DeviceIdentity.generate()
    spk, spk_doc = make_signed_prekey(identity, "spk-1")
    otk, otk_doc = make_one_time_prekey(identity, "otk-1") if with_otk else (None, None)
    bundle = {"device_id": BOB_DEVICE,
              "device_keys": device_keys_document(identity, BOB, BOB_DEVICE),
              "signed_prekey": spk_doc, "one_time_prekey": otk_doc}
    return Responder(identity, spk, otk, bundle)


def session_pair(with_otk: bool = True) -> tuple[Session, Session]:
    """(initiator, responder) sessions after one prekey message; no reply yet."""
    bob = responder(with_otk)
    alice = Session.initiate(DeviceIdentity.generate(), bob.verified())
    session, plaintext = Session.accept(bob.identity, bob.signed_prekey, bob.one_time_prekey,
                                        alice.encrypt(b"first"))
    assert plaintext == b"first"
    return alice, session
