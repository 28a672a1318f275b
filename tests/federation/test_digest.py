"""RFC 9530 Content-Digest: the RFC's own examples, and every way a check fails."""

from __future__ import annotations

import pytest

from federation.digest import DigestError, content_digest, verify_content_digest

# RFC 9421 appendix B.2 test-request body and its Content-Digest (sha-512), and the
# sha-256 digest of the same body used in RFC 9421's examples.
HELLO = b'{"hello": "world"}'
HELLO_SHA256 = "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
HELLO_SHA512 = (
    "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
    "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
)
# RFC 9530 appendix B.1 (and section 2 / C.2): the same JSON followed by an LF.
HELLO_LF = b'{"hello": "world"}\n'
HELLO_LF_SHA256 = "sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:"
HELLO_LF_SHA512 = (
    "sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCs"
    "yRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:"
)
# RFC 9530 appendix B.2: Content-Digest of empty content.
EMPTY_SHA256 = "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"


@pytest.mark.parametrize(
    ("body", "algorithm", "expected"),
    [
        (HELLO, "sha-256", HELLO_SHA256),
        (HELLO, "sha-512", HELLO_SHA512),
        (HELLO_LF, "sha-256", HELLO_LF_SHA256),
        (HELLO_LF, "sha-512", HELLO_LF_SHA512),
        (b"", "sha-256", EMPTY_SHA256),
    ],
)
def test_rfc_examples(body: bytes, algorithm: str, expected: str) -> None:
    assert content_digest(body, algorithm) == expected
    verify_content_digest(expected, body)


def test_default_algorithm_is_sha256() -> None:
    assert content_digest(HELLO) == HELLO_SHA256


def test_unsupported_algorithm_to_compute() -> None:
    with pytest.raises(ValueError):
        content_digest(HELLO, "md5")


def test_several_digests_all_checked() -> None:
    verify_content_digest(f"{HELLO_LF_SHA256}, {HELLO_LF_SHA512}", HELLO_LF)
    with pytest.raises(DigestError) as err:
        verify_content_digest(f"{HELLO_LF_SHA256}, {HELLO_SHA512}", HELLO_LF)
    assert err.value.code == "DIGEST_MISMATCH"


def test_unknown_algorithms_are_ignored_but_one_known_is_required() -> None:
    verify_content_digest(f"md5=:AAAA:, {HELLO_SHA256}", HELLO)
    with pytest.raises(DigestError) as err:
        verify_content_digest("md5=:AAAA:", HELLO)
    assert err.value.code == "UNSUPPORTED_DIGEST"


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (None, "MISSING_DIGEST"),
        ("", "MISSING_DIGEST"),
        ("   ", "MISSING_DIGEST"),
        (HELLO_LF_SHA256, "DIGEST_MISMATCH"),
        ("sha-256=:AAAA:", "DIGEST_MISMATCH"),
        ("sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", "UNSUPPORTED_DIGEST"),
        ('sha-256="X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="', "UNSUPPORTED_DIGEST"),
        ("sha-256=:not base64!:", "UNSUPPORTED_DIGEST"),
        ("SHA-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:", "UNSUPPORTED_DIGEST"),
        (HELLO_SHA256 + ",", "UNSUPPORTED_DIGEST"),
        ("sha-256=:" + "A" * 2000 + ":", "UNSUPPORTED_DIGEST"),
    ],
)
def test_failures(header: str | None, code: str) -> None:
    with pytest.raises(DigestError) as err:
        verify_content_digest(header, HELLO)
    assert err.value.code == code


def test_mismatch_on_altered_body() -> None:
    with pytest.raises(DigestError) as err:
        verify_content_digest(HELLO_SHA256, HELLO + b" ")
    assert err.value.code == "DIGEST_MISMATCH"
