"""Safety numbers and key fingerprints."""

from __future__ import annotations

import hashlib
import re

import pytest

from crypto.encoding import b64decode
from crypto.errors import InvalidKey
from crypto.fingerprint import key_fingerprint, safety_number
from crypto.keys import SigningKey, key_id


def test_safety_number_is_symmetric_and_formatted() -> None:
    a, b = SigningKey.generate().public_key, SigningKey.generate().public_key
    number = safety_number("anna@shop.example", a, "bob@other.example", b)
    assert re.fullmatch(r"(\d{5} ){11}\d{5}", number)
    assert safety_number("bob@other.example", b, "anna@shop.example", a) == number
    assert safety_number("anna@shop.example", SigningKey.generate().public_key,
                         "bob@other.example", b) != number
    assert safety_number("anna@shop.exampl", a, "bob@other.example", b) != number
    with pytest.raises(InvalidKey):
        safety_number("a", a[:31], "b", b)


def test_key_fingerprint_and_key_id() -> None:
    public = SigningKey.generate().public_key
    assert b64decode(key_fingerprint(public), 32) == hashlib.sha256(public).digest()
    assert len(key_id(public)) == 8
    assert b64decode(key_id(public), 6) == hashlib.sha256(public).digest()[:6]
