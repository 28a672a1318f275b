"""The content layer inside ratchet messages: padding and fields (docs/protocol.md,
"Message content"; docs/crypto.md section 8)."""

from __future__ import annotations

import pytest

from crypto.canonicaljson import encode_canonical
from node.client import content
from node.client.errors import ContentError
from node.protocol import content as wire
from node.protocol.errors import InvalidContent

TEXT = {"type": "text", "body": "Hello", "from": "a@a.test", "to": "b@b.test"}


def test_padding_fills_to_the_next_block_and_round_trips() -> None:
    raw = encode_canonical(TEXT)
    for size in (0, 1, 63, 64, 65, 200):
        padded = content.pad(b"x" * size)
        assert len(padded) % content.PAD_BLOCK == 0 and len(padded) > size
        assert padded[size] == 0x80 and set(padded[size + 1:]) <= {0}
        assert wire.unpad(padded) == b"x" * size
    assert wire.decode(wire.encode(TEXT)) == TEXT
    assert content.decode(content.encode(content.Text("Hello"), "a@a.test", "b@b.test")) == (
        content.Text("Hello"), "a@a.test", "b@b.test")
    # Padding over several blocks (a sender hiding more of the length) is accepted.
    assert wire.decode(raw + b"\x80" + b"\x00" * (191 - len(raw) % 64 + 64)) == TEXT


@pytest.mark.parametrize("plaintext", [
    b"",                                   # nothing
    b"\x00" * 64,                          # no 0x80
    encode_canonical(TEXT),                # unpadded
    content.pad(encode_canonical(TEXT))[:-1],            # not a whole block
    content.pad(encode_canonical(TEXT))[:-1] + b"\x01",  # a non-zero byte after 0x80
])
def test_a_receiver_refuses_bad_padding(plaintext: bytes) -> None:
    with pytest.raises(ContentError):
        content.decode(plaintext)


def test_automated_names_the_automation() -> None:
    for value in ("greeting", "away"):
        text = content.Text("Hello", automated=value)
        assert content.decode(content.encode(text, "a@a.test", "b@b.test"))[0] == text
    for bad in ("", 1, True, "x" * 33):
        with pytest.raises(InvalidContent, match="automated"):
            wire.encode({**TEXT, "automated": bad})
        with pytest.raises(ContentError, match="automated"):
            content.encode(content.Text("Hello", automated=bad), "a@a.test",  # type: ignore[arg-type]
                           "b@b.test")
