"""Matrix-style JSON signatures."""

from __future__ import annotations

import pytest

from crypto.encoding import b64encode
from crypto.errors import CanonicalJsonError, SignatureError
from crypto.keys import SigningKey
from crypto.signing import sign_json, signature_key_ids, verify_json

KEY = SigningKey.from_seed(bytes(range(32)))
OTHER = SigningKey.from_seed(bytes(32))


def test_sign_and_verify_keeps_other_signatures_and_ignores_unsigned() -> None:
    obj = {"a": 1, "unsigned": {"age": 3},
           "signatures": {"other.example": {"ed25519:x": "abc"}}}
    signed = sign_json(obj, "shop.example", "ed25519:k", KEY)
    assert obj["signatures"] == {"other.example": {"ed25519:x": "abc"}}  # input untouched
    assert signed["signatures"]["other.example"] == {"ed25519:x": "abc"}
    verify_json(signed, "shop.example", "ed25519:k", KEY.public_key)
    verify_json({**signed, "unsigned": {"age": 99}}, "shop.example", "ed25519:k",
                KEY.public_key)
    twice = sign_json(signed, "shop.example", "ed25519:k2", OTHER)
    assert signature_key_ids(twice, "shop.example") == ["ed25519:k", "ed25519:k2"]
    verify_json(twice, "shop.example", "ed25519:k", KEY.public_key)
    verify_json(twice, "shop.example", "ed25519:k2", OTHER.public_key)
    assert signature_key_ids(twice, "nobody") == []
    assert signature_key_ids({"signatures": 5}, "x") == []


def test_verify_refuses() -> None:
    signed = sign_json({"a": 1}, "s", "ed25519:k", KEY)
    cases = [
        ({**signed, "a": 2}, "s", "ed25519:k", KEY.public_key),
        (signed, "s", "ed25519:k", OTHER.public_key),
        (signed, "t", "ed25519:k", KEY.public_key),
        (signed, "s", "ed25519:j", KEY.public_key),
        ({"a": 1}, "s", "ed25519:k", KEY.public_key),
        ({**signed, "signatures": {"s": {"ed25519:k": "!!"}}}, "s", "ed25519:k", KEY.public_key),
        ({**signed, "signatures": {"s": {"ed25519:k": b64encode(bytes(63))}}}, "s",
         "ed25519:k", KEY.public_key),
        ({**signed, "signatures": {"s": "x"}}, "s", "ed25519:k", KEY.public_key),
        ({**signed, "f": 1.5}, "s", "ed25519:k", KEY.public_key),
        ([1], "s", "ed25519:k", KEY.public_key),
        (signed, "s", "ed25519:k", KEY.public_key[:31]),
    ]
    for obj, signer, key_id, public in cases:
        with pytest.raises(SignatureError):
            verify_json(obj, signer, key_id, public)  # type: ignore[arg-type]


def test_sign_refuses_non_json() -> None:
    with pytest.raises(CanonicalJsonError):
        sign_json({"a": 1.5}, "s", "ed25519:k", KEY)
    with pytest.raises(SignatureError):
        sign_json({"signatures": []}, "s", "ed25519:k", KEY)
