"""What counts as text: Unicode scalar values only, and readable names.

JSON can carry a lone UTF-16 surrogate (``"\\ud800"``) that Python decodes into a string
no UTF-8 codec (SQLite's, the log's, a peer's) can encode. ``bad_text_path`` finds one
anywhere in a decoded document; the JSON layer refuses it (400 ``INVALID_TEXT``).
Names people read (device names, labels, profile fields, ids shown in the inbox) also
refuse control characters and the bidirectional overrides that make one string look
like another (``unreadable``).
"""

from __future__ import annotations

import re
from typing import Any

SURROGATE_RE = re.compile("[\ud800-\udfff]")
# C0 controls but tab and newline, DEL, C1 controls, surrogates ...
CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# ... and, in one-line names, the bidi embeddings, overrides, isolates and marks
# (U+061C, U+200E-F, U+202A-E, U+2066-9). Running text may hold them (right-to-left
# scripts use them); a name must not look like another.
BIDI_RE = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
ID_UNSAFE_RE = re.compile("[\x00-\x20\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
                          "\ud800-\udfff]")


def is_text(value: str) -> bool:
    """True when ``value`` holds only Unicode scalar values (encodable as UTF-8)."""
    return SURROGATE_RE.search(value) is None


def bad_text_path(doc: Any, path: str = "") -> str | None:
    """The JSON path (``a.b[2]``) of the first key or string in ``doc`` that is not
    valid text, or None."""
    if isinstance(doc, str):
        return None if is_text(doc) else (path or "(body)")
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{path}.{key}" if path else str(key)
            if not is_text(key):
                return (path + "." if path else "") + _printable(key)
            found = bad_text_path(value, here)
            if found:
                return _printable(found)
    elif isinstance(doc, list):
        for i, value in enumerate(doc):
            found = bad_text_path(value, f"{path}[{i}]")
            if found:
                return found
    return None


def unreadable(value: str, *, single_line: bool = True) -> bool:
    """True when ``value`` holds a control character or a surrogate, or, when
    ``single_line``, a tab, a newline or a bidi control."""
    if CONTROL_RE.search(value):
        return True
    return single_line and ("\n" in value or "\t" in value or bool(BIDI_RE.search(value)))


def is_clean_id(value: str) -> bool:
    """An identifier: no whitespace, control, bidi or surrogate characters."""
    return ID_UNSAFE_RE.search(value) is None


def _printable(value: str) -> str:
    """``value`` with anything that is not valid text escaped, for messages."""
    return SURROGATE_RE.sub(lambda m: f"\\u{ord(m.group(0)):04x}", value)[:200]
