"""Throughput of the pairwise session crypto against the raw PyNaCl/hashlib primitives.

    python bench/crypto.py [--seconds 1.0] [--count 200000]

Each figure is printed beside the cost of the primitives it cannot avoid, as a ratio
(ours / raw, in time per operation). The last line is one JSON object of all figures.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Run as a script, sys.path[0] is bench/, whose crypto.py would shadow the package.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
sys.path.insert(0, str(ROOT))

from nacl import bindings  # noqa: E402

from crypto.identity import (  # noqa: E402
    DeviceIdentity,
    device_keys_document,
    make_one_time_prekey,
    make_signed_prekey,
    verify_bundle,
)
from crypto.keys import X25519Key  # noqa: E402
from crypto.session import Session  # noqa: E402
from crypto.verify import VerifiedBundle  # noqa: E402
from crypto.x3dh import initiate, respond  # noqa: E402

MESSAGE = bytes(200)


def rate(step: Callable[[], object], seconds: float, count: int) -> float:
    """Operations per second of `step`, run for about `seconds` or `count` times."""
    for _ in range(min(50, count)):
        step()
    done, start = 0, time.perf_counter()
    deadline = start + seconds
    while done < count:
        for _ in range(min(100, count - done)):
            step()
        done += min(100, count - done)
        if time.perf_counter() >= deadline:
            break
    return done / (time.perf_counter() - start)


@dataclass
class Pair:
    """Two sessions that exchanged one message each way, and what X3DH needs again."""

    alice: DeviceIdentity
    bob: DeviceIdentity
    initiator: Session
    responder: Session
    bundle: VerifiedBundle
    signed_prekey: X25519Key
    one_time_prekey: X25519Key


def make_pair() -> Pair:
    """A fresh initiator/responder pair with a one-time prekey."""
    alice, bob = DeviceIdentity.generate(), DeviceIdentity.generate()
    spk, spk_doc = make_signed_prekey(bob, "spk")
    otk, otk_doc = make_one_time_prekey(bob, "otk")
    bundle = verify_bundle({"device_id": "B", "device_keys": device_keys_document(bob, "b@x", "B"),
                            "signed_prekey": spk_doc, "one_time_prekey": otk_doc}, "b@x")
    a = Session.initiate(alice, bundle)
    b, _ = Session.accept(bob, spk, otk, a.encrypt(b"hi"))
    a.decrypt(b.encrypt(b"hello"))
    return Pair(alice, bob, a, b, bundle, spk, otk)


def raw_message_step() -> Callable[[], object]:
    """AEAD seal+open of 200 bytes and the four HMAC-SHA256 chain steps (both sides)."""
    key, nonce, ad, ck = os.urandom(32), os.urandom(24), os.urandom(169), os.urandom(32)
    seal = bindings.crypto_aead_xchacha20poly1305_ietf_encrypt
    unseal = bindings.crypto_aead_xchacha20poly1305_ietf_decrypt

    def step() -> object:
        for _ in range(2):
            hmac.digest(ck, b"\x01", "sha256")
            hmac.digest(ck, b"\x02", "sha256")
        return unseal(seal(MESSAGE, ad, nonce, key), ad, nonce, key)

    return step


def raw_x25519_step(times: int) -> Callable[[], object]:
    """`times` X25519 scalar multiplications."""
    scalar, point = os.urandom(32), bindings.crypto_scalarmult_base(os.urandom(32))

    def step() -> object:
        for _ in range(times):
            bindings.crypto_scalarmult(scalar, point)
        return None

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--count", type=int, default=200_000, help="max operations each")
    args = parser.parse_args(argv)
    seconds, count = max(args.seconds, 0.01), max(args.count, 1)

    pair = make_pair()
    a, b = pair.initiator, pair.responder
    raw_msg = rate(raw_message_step(), seconds, count)
    oneway = rate(lambda: b.decrypt(a.encrypt(MESSAGE)), seconds, count)
    turn = [a, b]

    def alternate() -> object:
        turn.reverse()
        return turn[1].decrypt(turn[0].encrypt(MESSAGE))

    alternating = rate(alternate, seconds, count)
    # Per alternating message: a new sending key (1 base mult) + 2 DH, plus AEAD + HMAC.
    raw_dh3 = rate(raw_x25519_step(3), seconds, count)
    raw_alt = 1 / (1 / raw_msg + 1 / raw_dh3)
    # initiate with a one-time prekey: ephemeral (1) + 4 DH; respond: 4 DH.
    alice = pair.alice

    def handshake() -> object:
        sent = initiate(alice, pair.bundle)
        return respond(pair.bob, pair.signed_prekey, pair.one_time_prekey,
                       alice.signing.public_key, alice.dh.public_key, sent.ephemeral_public)

    x3dh = rate(handshake, seconds, count)
    raw_x3dh = rate(raw_x25519_step(9), seconds, count)

    figures = {
        "ratchet_oneway_msgs_per_s": round(oneway),
        "raw_aead_hmac_per_s": round(raw_msg),
        "ratchet_oneway_ratio": round(raw_msg / oneway, 2),
        "ratchet_alternating_msgs_per_s": round(alternating),
        "raw_alternating_per_s": round(raw_alt),
        "ratchet_alternating_ratio": round(raw_alt / alternating, 2),
        "x3dh_handshakes_per_s": round(x3dh),
        "raw_x25519x9_per_s": round(raw_x3dh),
        "x3dh_ratio": round(raw_x3dh / x3dh, 2),
    }
    print(f"ratchet one direction, 200 B:  {oneway:10.0f} msg/s   raw AEAD+HMAC "
          f"{raw_msg:10.0f}/s   ratio {raw_msg / oneway:.2f}x")
    print(f"ratchet alternating, 200 B:    {alternating:10.0f} msg/s   raw +3 X25519 "
          f"{raw_alt:10.0f}/s   ratio {raw_alt / alternating:.2f}x")
    print(f"X3DH initiate+respond:         {x3dh:10.0f} /s      raw 9 X25519  "
          f"{raw_x3dh:10.0f}/s   ratio {raw_x3dh / x3dh:.2f}x")
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
