"""RFC 9421 signatures, the RFC 8941 fields they ride in, and the Kontor profile.

The known-answer vectors are copied from RFC 9421 appendix B (B.1.4 key, B.2 test
request, B.2.6 Ed25519 signature); Ed25519 is deterministic, so signing the RFC's
signature base with the RFC's key must give the RFC's signature byte for byte.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
from collections.abc import Callable
from typing import Any

import nacl.exceptions
import nacl.signing
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict

from federation.digest import content_digest
from federation.errors import FederationError
from federation.httpsig import (
    SignatureVerificationError,
    candidate_base,
    check_clock,
    check_signature,
    request_components,
    select_signature,
    sign_request,
)
from federation.keydoc import KeyLookupError
from federation.sigbase import ComponentError, SignatureParams, signature_base
from federation.signatures import (
    KONTOR_COMPONENTS,
    InvalidKeyId,
    VerifiedRequest,
    parse_keyid,
    sign_kontor_request,
    verify_kontor_request,
)
from federation.structfields import (
    InnerList,
    Item,
    StructuredFieldError,
    Token,
    parse_dictionary,
    serialize_dictionary,
)

# --- RFC 9421 appendix B.1.4: test-key-ed25519 (PKCS#8 / SPKI PEM bodies) ---------------
RFC_PRIVATE_PEM = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF"
RFC_PUBLIC_PEM = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs="
# The same key in the appendix's JWK form.
RFC_JWK_X = "JrQLj5P_89iXES9-vFgrIy29clF9CC_oPPsw3c5D0bs"
RFC_JWK_D = "n4Ni-HpISpVObnQMW0wOhCKROaIKqKtW_2ZYb2p9KcU"

# --- RFC 9421 appendix B.2: test-request ---------------------------------------------------
RFC_METHOD = "POST"
RFC_URL = "https://example.com/foo?param=Value&Pet=dog"
RFC_HEADERS = {
    "Host": "example.com",
    "Date": "Tue, 20 Apr 2021 02:07:55 GMT",
    "Content-Type": "application/json",
    "Content-Digest": (
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+"
        "AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:"
    ),
    "Content-Length": "18",
}
RFC_BODY = b'{"hello": "world"}'

# --- RFC 9421 appendix B.2.6: signing the test request with ed25519 ------------------------
B26_LABEL = "sig-b26"
B26_COVERED = ["date", "@method", "@path", "@authority", "content-type", "content-length"]
B26_PARAMS = SignatureParams(created=1618884473, keyid="test-key-ed25519")
B26_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority"'
    ' "content-type" "content-length");created=1618884473'
    ';keyid="test-key-ed25519"'
).encode("ascii")
B26_SIGNATURE_INPUT = (
    'sig-b26=("date" "@method" "@path" "@authority"'
    ' "content-type" "content-length");created=1618884473'
    ';keyid="test-key-ed25519"'
)
B26_SIGNATURE = (
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1"
    "u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:"
)


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rfc_signing_key() -> nacl.signing.SigningKey:
    # A PKCS#8 Ed25519 private key ends with the 32-byte seed.
    return nacl.signing.SigningKey(base64.b64decode(RFC_PRIVATE_PEM)[-32:])


def rfc_public_key() -> bytes:
    # An SPKI Ed25519 public key ends with the 32-byte key.
    return base64.b64decode(RFC_PUBLIC_PEM)[-32:]


def test_rfc_b14_key_halves_agree() -> None:
    sk = rfc_signing_key()
    assert bytes(sk) == _unb64url(RFC_JWK_D)
    assert bytes(sk.verify_key) == rfc_public_key() == _unb64url(RFC_JWK_X)


def test_rfc_b26_signature_base() -> None:
    base = signature_base(RFC_METHOD, RFC_URL, RFC_HEADERS, B26_COVERED, B26_PARAMS)
    assert base == B26_BASE


def test_rfc_b26_signature_reproduced() -> None:
    headers = sign_request(RFC_METHOD, RFC_URL, RFC_HEADERS, covered=B26_COVERED,
                           params=B26_PARAMS, label=B26_LABEL,
                           sign=lambda m: rfc_signing_key().sign(m).signature)
    assert headers == {"Signature-Input": B26_SIGNATURE_INPUT, "Signature": B26_SIGNATURE}


def verify_request(method: str, url: str, headers: Any, *, label: str | None = None,
                   required_components: list[str], lookup_key: Callable[[str], bytes],
                   now: float, max_skew_seconds: float, max_lifetime_seconds: float
                   ) -> tuple[str, tuple[str, ...], SignatureParams]:
    """The generic RFC 9421 steps that ``verify_kontor_request`` is made of, in its
    order, for signatures outside the Kontor profile (the RFC's own vectors)."""
    request = request_components(method, url, headers)
    c = select_signature(request, label)
    check_clock(c, required_components, now, max_skew_seconds, max_lifetime_seconds)
    base = candidate_base(request, c)
    try:
        key = lookup_key(c.params.keyid or "")
    except KeyError:
        raise SignatureVerificationError("UNKNOWN_KEY", "unknown key") from None
    check_signature(c, base, key)
    return c.label, c.covered, c.params


def test_rfc_b26_signature_verifies() -> None:
    headers = {**RFC_HEADERS, "Signature-Input": B26_SIGNATURE_INPUT,
               "Signature": B26_SIGNATURE}
    verified = verify_request(RFC_METHOD, RFC_URL, headers, label=B26_LABEL,
                              required_components=["@method", "@authority"],
                              lookup_key={"test-key-ed25519": rfc_public_key()}.__getitem__,
                              now=1618884473 + 10, max_skew_seconds=60,
                              max_lifetime_seconds=300)
    label, covered, params = verified
    assert (label, params.keyid) == (B26_LABEL, "test-key-ed25519")
    assert covered == tuple(B26_COVERED)
    assert params.created == 1618884473
    assert params.order == ("created", "keyid")


def test_rfc_b26_tampered_base_fails() -> None:
    signature = parse_dictionary(B26_SIGNATURE)[B26_LABEL].value
    key = nacl.signing.VerifyKey(rfc_public_key())
    key.verify(B26_BASE, signature)
    with pytest.raises(nacl.exceptions.BadSignatureError):
        key.verify(B26_BASE.replace(b"POST", b"PUT"), signature)


@pytest.mark.parametrize(
    ("name", "value"),
    [("Date", "Tue, 20 Apr 2021 02:07:56 GMT"), ("Content-Length", "19"),
     ("Content-Type", "text/plain")],
)
def test_rfc_b26_altered_header_fails(name: str, value: str) -> None:
    headers = {**RFC_HEADERS, name: value, "Signature-Input": B26_SIGNATURE_INPUT,
               "Signature": B26_SIGNATURE}
    with pytest.raises(SignatureVerificationError) as err:
        verify_request(RFC_METHOD, RFC_URL, headers, required_components=[],
                       lookup_key=lambda _k: rfc_public_key(), now=1618884473,
                       max_skew_seconds=60, max_lifetime_seconds=300)
    assert err.value.code == "BAD_SIGNATURE"


# --- components ------------------------------------------------------------------------------


def _line(url: str, name: str, headers: dict[str, str] | None = None) -> str:
    base = signature_base("GET", url, headers or {}, [name], SignatureParams())
    return base.decode().split("\n")[0]


@pytest.mark.parametrize(
    ("url", "name", "expected"),
    [
        ("https://example.com/foo?param=Value&Pet=dog", "@target-uri",
         "https://example.com/foo?param=Value&Pet=dog"),
        ("HTTPS://Example.COM:443/foo?a=B", "@target-uri", "https://example.com/foo?a=B"),
        ("http://example.com:8080", "@target-uri", "http://example.com:8080/"),
        ("http://[::1]:80/x", "@authority", "[::1]"),
        ("http://LOCALHOST:8481/x", "@authority", "localhost:8481"),
        ("https://example.com:8443/x", "@scheme", "https"),
        ("https://example.com/foo?param=Value&Pet=dog", "@request-target",
         "/foo?param=Value&Pet=dog"),
        ("https://example.com/foo", "@request-target", "/foo"),
        ("https://example.com/a%20b/c", "@path", "/a%20b/c"),
        ("https://example.com", "@path", "/"),
        ("https://example.com/foo?param=Value&Pet=dog", "@query", "?param=Value&Pet=dog"),
        ("https://example.com/foo", "@query", "?"),
        ("https://example.com/foo?", "@query", "?"),
    ],
)
def test_derived_components(url: str, name: str, expected: str) -> None:
    assert _line(url, name) == f'"{name}": {expected}'


def test_method_is_taken_as_is() -> None:
    base = signature_base("post", "https://e.example/", {}, ["@method"], SignatureParams())
    assert base.startswith(b'"@method": post\n')


def test_header_fields_trimmed_case_insensitive_and_combined() -> None:
    headers = CIMultiDict([("X-Multi", " one "), ("x-multi", "two\t"), ("Cache-Control", "a")])
    base = signature_base("GET", "https://e.example/", headers, ["x-multi", "cache-control"],
                          SignatureParams())
    assert base.split(b"\n")[:2] == [b'"x-multi": one, two', b'"cache-control": a']


@pytest.mark.parametrize(
    ("url", "covered", "headers"),
    [
        ("https://e.example/", ["x-absent"], {}),
        ("https://e.example/", ["X-Upper"], {"X-Upper": "1"}),
        ("https://e.example/", ["@status"], {}),
        ("https://e.example/", ["@signature-params"], {}),
        ("https://e.example/", ["@method", "@method"], {}),
        ("https://e.example/", ["x-bad"], {"x-bad": "a\r\nb"}),
        ("https://e.example/", ["x-bad"], {"x-bad": "caf\u00e9"}),
        ("ftp://e.example/", ["@method"], {}),
        ("https://user@e.example/", ["@method"], {}),
        ("https://e.example/#frag", ["@method"], {}),
        ("https://e.example/a b", ["@method"], {}),
        ("https://e.example:0/", ["@method"], {}),
        ("https://e.example:99999/", ["@method"], {}),
        ("https://e.example:" + "1" * 5000 + "/", ["@method"], {}),
        ("/relative", ["@method"], {}),
    ],
)
def test_uncomputable_components_refused(url: str, covered: list[str],
                                         headers: dict[str, str]) -> None:
    with pytest.raises(ComponentError):
        signature_base("GET", url, headers, covered, SignatureParams())


def test_params_follow_given_order_and_keep_unknown_ones() -> None:
    params = SignatureParams(created=1, expires=2, nonce="n", keyid="k", alg="ed25519",
                             tag="t", order=("keyid", "tag"))
    text = signature_base("GET", "https://e.example/", {}, [], params).decode()
    assert text == ('"@signature-params": ();keyid="k";tag="t";created=1;expires=2'
                    ';nonce="n";alg="ed25519"')
    parsed = SignatureParams.from_params(
        parse_dictionary('s=();x=?1;created=5;y=tok')["s"].params)
    assert parsed.created == 5
    assert list(parsed.to_params().items()) == [("x", True), ("created", 5), ("y", "tok")]


# --- structured fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        B26_SIGNATURE_INPUT,
        B26_SIGNATURE,
        'a=1, b=-42, c="x \\"y\\" \\\\z", d=tok/en:x, e=:AQID:, f=?0, g',
        'g;p=1;q, h=(1 "two" three ?1 :AA==:);r="s", i=()',
        'sig1=("@method" "@target-uri");created=1700000000;keyid="a.example/ed25519:AbC_-9"',
        "a=999999999999999, b=-999999999999999",
        "*k=*tok",
    ],
)
def test_structured_field_round_trip(text: str) -> None:
    parsed = parse_dictionary(text)
    assert serialize_dictionary(parsed) == text
    assert parse_dictionary(serialize_dictionary(parsed)) == parsed


_sf_keys = st.from_regex(r"[a-z*][a-z0-9_.*-]{0,6}", fullmatch=True)
_sf_bare = st.one_of(
    st.integers(-999_999_999_999_999, 999_999_999_999_999),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
    st.from_regex(r"[A-Za-z*][A-Za-z0-9!#$%&'*+.^_`|~:/-]{0,8}", fullmatch=True).map(Token),
    st.binary(max_size=12),
    st.booleans(),
)
_sf_params = st.dictionaries(_sf_keys, _sf_bare, max_size=3)
_sf_items = st.builds(Item, _sf_bare, _sf_params)
_sf_members = st.one_of(_sf_items, st.builds(InnerList, st.lists(_sf_items, max_size=3),
                                             _sf_params))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_sf_keys, _sf_members, max_size=4))
def test_structured_field_round_trip_property(d: dict[str, Any]) -> None:
    text = serialize_dictionary(d)
    assert parse_dictionary(text) == d
    assert serialize_dictionary(parse_dictionary(text)) == text


def test_structured_field_types() -> None:
    d = parse_dictionary('a=(1 "s" t :AQ==: ?1);p=2, b')
    inner = d["a"]
    assert isinstance(inner, InnerList)
    assert [i.value for i in inner.items] == [1, "s", Token("t"), b"\x01", True]
    assert isinstance(inner.items[2].value, Token)
    assert not isinstance(inner.items[1].value, Token)
    assert inner.params == {"p": 2}
    assert d["b"] == Item(True)


def test_structured_field_leniencies_of_the_rfc() -> None:
    assert serialize_dictionary(parse_dictionary("  a=1 ,\tb=( 1  2 ) ")) == "a=1, b=(1 2)"
    assert parse_dictionary("a=:AQ:")["a"].value == b"\x01"  # padding may be omitted
    assert parse_dictionary("a=1, a=2") == {"a": Item(2)}  # last value wins


@pytest.mark.parametrize(
    "text",
    [
        "a=1,", ",a=1", "a=1,,b=2", "A=1", "1a=1", "a=", "a=1 b=2", "a=(1 2", "a=(1,2)",
        'a="unterminated', 'a="bad \\escape"', 'a="tab\there"', "a=1.5", "a=1000000000000000",
        "a=--1", "a=:not base64:", "a=:AQ=:", "a=:AR==:", "a=:====:", "a=?2", "a=?",
        "a=@1", "a=%\"x\"", "a=\u00e9", "a;=1", "a=1;P=2", "a=(1)x", "a=1\n", "\ta=1",
    ],
)
def test_structured_field_malformed_refused(text: str) -> None:
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)


def test_structured_field_size_limit() -> None:
    text = "a=" + '"' + "x" * 9000 + '"'
    with pytest.raises(StructuredFieldError):
        parse_dictionary(text)
    assert parse_dictionary(text, max_length=10_000)["a"].value == "x" * 9000


@pytest.mark.parametrize(
    "member",
    [Item("caf\u00e9"), Item(Token("1abc")), Item(10**15), Item(1.5)],  # type: ignore[arg-type]
)
def test_structured_field_unserialisable_refused(member: Item) -> None:
    with pytest.raises(StructuredFieldError):
        serialize_dictionary({"a": member})


# --- the Kontor profile -------------------------------------------------------------------------

NOW = 1_764_000_000
ORIGIN = "shop.example"
DEST = "other.example:8448"
KEY_ID = "ed25519:AbCd1234"
URL = "https://other.example:8448/_kontor/federation/v1/send/t1?since=4"
BODY = b'{"envelopes": []}'
SIGNING_KEY = nacl.signing.SigningKey(bytes(range(32)))
PUBLIC_KEY = bytes(SIGNING_KEY.verify_key)


def _sign(m: bytes) -> bytes:
    return SIGNING_KEY.sign(m).signature


def kontor_headers(method: str = "PUT", url: str = URL, body: bytes = BODY,
                   now: int = NOW, **kw: Any) -> dict[str, str]:
    return sign_kontor_request(method, url, body, ORIGIN, DEST, KEY_ID, _sign, now, **kw)


async def _lookup(origin: str, key_id: str) -> bytes:
    if (origin, key_id) == (ORIGIN, KEY_ID):
        return PUBLIC_KEY
    raise KeyLookupError(key_id)


def verify(method: str, url: str, headers: Any, body: bytes, *,
           our_server_name: str = DEST, lookup: Any = _lookup, now: int = NOW):  # type: ignore[no-untyped-def]
    return asyncio.run(verify_kontor_request(
        method, url, headers, body, our_server_name=our_server_name, lookup_key=lookup,
        now=now, max_skew_seconds=60))


def test_kontor_sign_then_verify() -> None:
    headers = kontor_headers(nonce="n" * 22)
    assert set(headers) == {"Content-Digest", "Kontor-Destination", "Signature-Input",
                            "Signature"}
    assert headers["Content-Digest"] == content_digest(BODY)
    assert headers["Kontor-Destination"] == DEST
    assert headers["Signature-Input"] == (
        'kontor=("@method" "@target-uri" "content-digest" "kontor-destination")'
        f';created={NOW};expires={NOW + 300};nonce="{"n" * 22}"'
        f';keyid="{ORIGIN}/{KEY_ID}";alg="ed25519"'
    )
    got = verify("PUT", URL, {"Content-Type": "application/json", **headers}, BODY)
    assert got == VerifiedRequest(origin=ORIGIN, key_id=KEY_ID, nonce="n" * 22, created=NOW,
                                  expires=NOW + 300, accept_until=NOW + 300 + 60)


def test_kontor_random_nonces_differ() -> None:
    a = parse_dictionary(kontor_headers()["Signature-Input"])["kontor"].params["nonce"]
    b = parse_dictionary(kontor_headers()["Signature-Input"])["kontor"].params["nonce"]
    assert a != b and len(str(a)) == 22


def test_kontor_verifies_behind_a_proxy_with_canonical_url() -> None:
    # The sender wrote the default port; the receiver rebuilds the URL from its public
    # base URL and the raw request target.
    sent = "HTTPS://Node.Example:443/_kontor/federation/v1/send/a%2Fb?x=1"
    headers = sign_kontor_request("PUT", sent, BODY, ORIGIN, "node.example", KEY_ID, _sign, NOW)
    got = verify("PUT", "https://node.example/_kontor/federation/v1/send/a%2Fb?x=1", headers,
                 BODY, our_server_name="Node.Example")
    assert got.origin == ORIGIN


def test_kontor_multidict_headers_and_async_lookup_of_any_case_origin() -> None:
    headers = sign_kontor_request("GET", URL, b"", "Shop.Example", DEST, KEY_ID, _sign, NOW)
    got = verify("GET", URL, CIMultiDict(headers), b"")
    assert got.origin == ORIGIN  # lower-cased, so one origin has one replay-cache identity


def _without(name: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda h: {k: v for k, v in h.items() if k != name}


def _with(name: str, value: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda h: {**h, name: value}


def _resign(covered: tuple[str, ...] = KONTOR_COMPONENTS, **params: Any) -> Callable[
        [dict[str, str]], dict[str, str]]:
    """Re-sign the request generically, to produce signatures the profile refuses."""
    def apply(h: dict[str, str]) -> dict[str, str]:
        fields = {"created": NOW, "expires": NOW + 300, "nonce": "n" * 22,
                  "keyid": f"{ORIGIN}/{KEY_ID}", **params}
        p = SignatureParams(**{k: v for k, v in fields.items() if v is not None})
        return {**h, **sign_request("PUT", URL, h, covered=covered, params=p, label="kontor",
                                    sign=_sign)}
    return apply


def _flip_signature(h: dict[str, str]) -> dict[str, str]:
    sig = bytearray(parse_dictionary(h["Signature"])["kontor"].value)  # type: ignore[arg-type]
    sig[0] ^= 1
    return {**h, "Signature": "kontor=:" + base64.b64encode(bytes(sig)).decode() + ":"}


def _forged_body(h: dict[str, str]) -> dict[str, str]:
    return {**h, "Content-Digest": content_digest(b"{}")}


async def _other_key(origin: str, key_id: str) -> bytes:
    return bytes(nacl.signing.SigningKey(bytes(32)).verify_key)


async def _broken_key(origin: str, key_id: str) -> bytes:
    return b"short"


FAILURES: list[tuple[str, dict[str, Any], str]] = [
    ("altered body", {"body": BODY + b" "}, "DIGEST_MISMATCH"),
    ("missing digest", {"mutate": _without("Content-Digest")}, "MISSING_DIGEST"),
    ("digest of another algorithm", {"mutate": _with("Content-Digest", "md5=:AAAA:")},
     "UNSUPPORTED_DIGEST"),
    ("body and digest swapped", {"mutate": _forged_body, "body": b"{}"}, "BAD_SIGNATURE"),
    ("altered method", {"method": "POST"}, "BAD_SIGNATURE"),
    ("altered path", {"url": URL.replace("/t1", "/t2")}, "BAD_SIGNATURE"),
    ("altered query", {"url": URL.replace("since=4", "since=5")}, "BAD_SIGNATURE"),
    ("dropped query", {"url": URL.split("?")[0]}, "BAD_SIGNATURE"),
    ("altered host", {"url": URL.replace("other.example", "evil.example")}, "BAD_SIGNATURE"),
    ("altered scheme", {"url": URL.replace("https:", "http:")}, "BAD_SIGNATURE"),
    ("flipped signature bit", {"mutate": _flip_signature}, "BAD_SIGNATURE"),
    ("another key", {"lookup": _other_key}, "BAD_SIGNATURE"),
    ("wrong destination", {"our_server_name": "third.example"}, "WRONG_DESTINATION"),
    ("destination header changed", {"mutate": _with("Kontor-Destination", "x.example")},
     "WRONG_DESTINATION"),
    ("stale created", {"sign_now": NOW - 1000, "lifetime": 2000}, "STALE_SIGNATURE"),
    ("created in the future", {"sign_now": NOW + 120}, "STALE_SIGNATURE"),
    ("expired", {"sign_now": NOW - 400}, "EXPIRED_SIGNATURE"),
    ("unknown key", {"lookup": lambda o, k: _lookup(o, "ed25519:other")}, "UNKNOWN_KEY"),
    ("unusable key", {"lookup": _broken_key}, "UNKNOWN_KEY"),
    ("destination not covered", {"mutate": _resign(KONTOR_COMPONENTS[:3])},
     "MISSING_COMPONENT"),
    # Coverage is checked before the digest: a request that neither covers nor sends a
    # Content-Digest is MISSING_COMPONENT (401), not MISSING_DIGEST (400).
    ("digest neither covered nor sent", {"mutate": lambda h: _without("Content-Digest")(
        _resign(("@method", "@target-uri", "kontor-destination"))(h))}, "MISSING_COMPONENT"),
    ("query not covered", {"mutate": _resign(("@method", "@path", "content-digest",
                                              "kontor-destination"))}, "MISSING_COMPONENT"),
    ("other algorithm", {"mutate": _resign(alg="rsa-pss-sha512")}, "UNSUPPORTED_ALGORITHM"),
    ("no nonce", {"mutate": _resign(nonce=None)}, "MALFORMED_SIGNATURE"),
    ("no expires", {"mutate": _resign(expires=None)}, "MALFORMED_SIGNATURE"),
    ("no keyid", {"mutate": _resign(keyid=None)}, "MALFORMED_SIGNATURE"),
    ("short nonce", {"mutate": _resign(nonce="abc")}, "MALFORMED_SIGNATURE"),
    ("junk keyid", {"mutate": _resign(keyid="shop.example/rsa:1")}, "MALFORMED_SIGNATURE"),
    ("keyid without server", {"mutate": _resign(keyid="ed25519:AbCd1234")},
     "MALFORMED_SIGNATURE"),
    ("expires before created", {"mutate": _resign(expires=NOW - 1)}, "MALFORMED_SIGNATURE"),
    ("garbage input", {"mutate": _with("Signature-Input", "kontor=garbage(")},
     "MALFORMED_SIGNATURE"),
    ("garbage signature", {"mutate": _with("Signature", "kontor=:%%%:")},
     "MALFORMED_SIGNATURE"),
    ("signature not bytes", {"mutate": _with("Signature", 'kontor="abc"')},
     "MALFORMED_SIGNATURE"),
    ("signature too short", {"mutate": _with("Signature", "kontor=:AAAA:")},
     "MALFORMED_SIGNATURE"),
    ("input not a list", {"mutate": _with("Signature-Input", "kontor=1")},
     "MALFORMED_SIGNATURE"),
    ("token component", {"mutate": _with("Signature-Input", "kontor=(a);created=1")},
     "MALFORMED_SIGNATURE"),
    ("component parameters", {"mutate": _with(
        "Signature-Input", 'kontor=("@query-param";name="x");created=1')},
     "MALFORMED_SIGNATURE"),
    ("created is a string", {"mutate": _with("Signature-Input", 'kontor=();created="1"')},
     "MALFORMED_SIGNATURE"),
    ("too many signatures", {"mutate": _with(
        "Signature", ", ".join(f"s{i}=:AA==:" for i in range(9)))}, "MALFORMED_SIGNATURE"),
    ("no signature", {"mutate": _without("Signature")}, "MISSING_SIGNATURE"),
    ("no signature input", {"mutate": _without("Signature-Input")}, "MISSING_SIGNATURE"),
    ("other label only", {"mutate": lambda h: {
        **h, "Signature-Input": h["Signature-Input"].replace("kontor=", "sig1="),
        "Signature": h["Signature"].replace("kontor=", "sig1=")}}, "MISSING_SIGNATURE"),
    ("bad url", {"url": "https://other.example:8448/a b"}, "MALFORMED_SIGNATURE"),
]


@pytest.mark.parametrize(("case", "code"), [(c[1], c[2]) for c in FAILURES],
                         ids=[c[0] for c in FAILURES])
def test_kontor_failures(case: dict[str, Any], code: str) -> None:
    sign_kw = {"lifetime": case["lifetime"]} if "lifetime" in case else {}
    headers = kontor_headers(now=case.get("sign_now", NOW), **sign_kw)
    headers = case.get("mutate", lambda h: h)(headers)
    with pytest.raises(SignatureVerificationError) as err:
        verify(case.get("method", "PUT"), case.get("url", URL), headers,
               case.get("body", BODY), our_server_name=case.get("our_server_name", DEST),
               lookup=case.get("lookup", _lookup))
    assert err.value.code == code


def test_kontor_clock_edges() -> None:
    headers = kontor_headers()
    verify("PUT", URL, headers, BODY, now=NOW - 60)  # created at most skew ahead
    verify("PUT", URL, headers, BODY, now=NOW + 300 + 60)  # expires + skew
    with pytest.raises(SignatureVerificationError):
        verify("PUT", URL, headers, BODY, now=NOW - 61)
    with pytest.raises(SignatureVerificationError):
        verify("PUT", URL, headers, BODY, now=NOW + 361)


def test_kontor_checks_run_in_the_documented_order() -> None:
    """docs/protocol.md lists the checks in order; the first that fails gives the code."""
    def code(headers: dict[str, str], **kw: Any) -> str:
        with pytest.raises(SignatureVerificationError) as err:
            asyncio.run(verify_kontor_request(
                "PUT", URL, headers, kw.pop("body", BODY), our_server_name=DEST,
                lookup_key=kw.pop("lookup", _lookup), now=NOW, max_skew_seconds=60, **kw))
        return err.value.code

    before_start = kontor_headers(now=NOW - 10)
    # Signed before the receiver started: refused with the clock window, before the key
    # is looked up or the signature checked (a forged one gets the same answer).
    assert code(before_start, not_before=NOW - 5) == "STALE_SIGNATURE"
    assert code(_flip_signature(before_start), not_before=NOW - 5) == "STALE_SIGNATURE"
    assert code(before_start, not_before=NOW - 5, lookup=_broken_key) == "STALE_SIGNATURE"
    verify("PUT", URL, kontor_headers(now=NOW - 5), BODY)  # at the start itself: fine
    # expires before created is malformed, before any clock comparison.
    assert code(_resign(created=NOW + 1000, expires=NOW + 999)(kontor_headers())) \
        == "MALFORMED_SIGNATURE"
    # The clock comes before the destination, the destination before the digest, the
    # digest before the key and the signature.
    stale = kontor_headers(now=NOW - 1000, lifetime=2000)
    assert code(_with("Kontor-Destination", "x.example")(stale)) == "STALE_SIGNATURE"
    assert code(_with("Kontor-Destination", "x.example")(kontor_headers()),
                body=b"altered") == "WRONG_DESTINATION"
    assert code(kontor_headers(), body=b"altered", lookup=_broken_key) == "DIGEST_MISMATCH"
    assert code(_flip_signature(kontor_headers()), lookup=_broken_key) == "UNKNOWN_KEY"


def test_kontor_several_digests_all_supported_ones_must_match() -> None:
    import hashlib
    sha512 = "sha-512=:" + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ":"
    headers = kontor_headers()
    both = {**headers, "Content-Digest": f"{headers['Content-Digest']}, {sha512}, md5=:AA==:"}
    resigned = _resign()(both)  # the digest header is covered: sign what is sent
    assert verify("PUT", URL, resigned, BODY).origin == ORIGIN
    wrong = {**headers, "Content-Digest": headers["Content-Digest"] + ", sha-512=:AAAA:"}
    with pytest.raises(SignatureVerificationError) as err:
        verify("PUT", URL, _resign()(wrong), BODY)
    assert err.value.code == "DIGEST_MISMATCH"


def test_kontor_other_signatures_are_ignored() -> None:
    headers = kontor_headers()
    headers["Signature-Input"] += ', proxy=("@method");created=1;keyid="p"'
    headers["Signature"] += ", proxy=:AA==:"
    assert verify("PUT", URL, headers, BODY).origin == ORIGIN


@pytest.mark.parametrize(
    ("keyid", "expected"),
    [
        ("shop.example/ed25519:AbCd1234", ("shop.example", "ed25519:AbCd1234")),
        ("Shop.Example:8448/ed25519:a_-9", ("shop.example:8448", "ed25519:a_-9")),
        ("localhost:8481/ed25519:x", ("localhost:8481", "ed25519:x")),
        ("[::1]:8448/ed25519:x", ("[::1]:8448", "ed25519:x")),
    ],
)
def test_parse_keyid(keyid: str, expected: tuple[str, str]) -> None:
    assert parse_keyid(keyid) == expected


@pytest.mark.parametrize(
    "keyid",
    ["", "shop.example", "shop.example/", "/ed25519:x", "shop.example/ed25519:",
     "shop.example/ed25519:a/b", "shop.example/rsa:x", "shop..example/ed25519:x",
     "-shop.example/ed25519:x", "shop.example:0/ed25519:x", "shop.example:70000/ed25519:x",
     "sh op.example/ed25519:x", "shöp.example/ed25519:x", "a@b/ed25519:x",
     "shop.example/ed25519:" + "a" * 65, "x" * 300 + "/ed25519:x"],
)
def test_parse_keyid_refuses_junk(keyid: str) -> None:
    with pytest.raises(InvalidKeyId):
        parse_keyid(keyid)


def test_sign_kontor_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError):
        kontor_headers(nonce="short")
    with pytest.raises(InvalidKeyId):
        sign_kontor_request("PUT", URL, BODY, "bad origin", DEST, KEY_ID, _sign, NOW)
    with pytest.raises(InvalidKeyId):
        sign_kontor_request("PUT", URL, BODY, ORIGIN, DEST, "rsa:1", _sign, NOW)


# --- generic verification -------------------------------------------------------------------


def _generic(headers: dict[str, str], lookup: Any, **kw: Any):  # type: ignore[no-untyped-def]
    return verify_request("PUT", URL, headers, required_components=["@method"],
                          lookup_key=lookup, now=NOW, max_skew_seconds=60,
                          max_lifetime_seconds=600, **kw)


def test_kontor_verify_accepts_sync_and_async_lookups() -> None:
    headers = kontor_headers()
    assert verify("PUT", URL, headers, BODY, lookup=_lookup).origin == ORIGIN
    assert verify("PUT", URL, headers, BODY,
                  lookup=lambda origin, key_id: PUBLIC_KEY).key_id == KEY_ID


def test_kontor_verify_unknown_key_and_pin_mismatch() -> None:
    def unknown(origin: str, key_id: str) -> bytes:
        raise KeyLookupError("no such key", "EXPIRED_KEY")

    def mismatch(origin: str, key_id: str) -> bytes:
        raise KeyLookupError("not the pinned key", "KEY_PIN_MISMATCH")

    with pytest.raises(SignatureVerificationError) as err:
        verify("PUT", URL, kontor_headers(), BODY, lookup=unknown)
    assert (err.value.code, err.value.status) == ("UNKNOWN_KEY", 401)
    with pytest.raises(KeyLookupError) as pinned:
        verify("PUT", URL, kontor_headers(), BODY, lookup=mismatch)
    assert (pinned.value.code, pinned.value.status) == ("KEY_PIN_MISMATCH", 401)


def test_verify_without_label_needs_exactly_one_signature() -> None:
    headers = _resign(("@method",))({})
    headers["Signature-Input"] += ', b=("@method");created=1;keyid="p"'
    headers["Signature"] += ", b=:AA==:"
    with pytest.raises(SignatureVerificationError) as err:
        _generic(headers, lambda k: PUBLIC_KEY)
    assert err.value.code == "MALFORMED_SIGNATURE"
    assert _generic(headers, lambda k: PUBLIC_KEY, label="kontor")[0] == "kontor"


def test_verify_reports_absent_covered_field() -> None:
    headers = _resign(("@method", "x-extra"))({"X-Extra": "1"})
    del headers["X-Extra"]
    with pytest.raises(SignatureVerificationError) as err:
        _generic(headers, lambda k: PUBLIC_KEY)
    assert err.value.code == "MISSING_COMPONENT"


def test_verify_unknown_key_from_lookup_error() -> None:
    def lookup(keyid: str) -> bytes:
        raise KeyError(keyid)

    with pytest.raises(SignatureVerificationError) as err:
        verify_request("PUT", URL, _resign(("@method",))({}), required_components=[],
                       lookup_key=lookup, now=NOW, max_skew_seconds=60,
                       max_lifetime_seconds=600)
    assert err.value.code == "UNKNOWN_KEY"


def test_error_codes_are_a_fixed_set_with_their_statuses() -> None:
    with pytest.raises(ValueError):
        SignatureVerificationError("SOMETHING_ELSE", "x")
    error = SignatureVerificationError("WRONG_DESTINATION", "x")
    assert isinstance(error, FederationError) and error.status == 421
    assert SignatureVerificationError("DIGEST_MISMATCH", "x").status == 400
    assert SignatureVerificationError("BAD_SIGNATURE", "x").status == 401


# --- garbage never escapes as anything but SignatureVerificationError --------------------------

_FRAGMENTS = [
    "kontor", "=", "(", ")", '"', "\\", ";", ",", " ", ":", "?1", "-", "1", "created=",
    f"created={NOW}", f"expires={NOW + 300}", 'nonce="nnnnnnnnnnnnnnnnnnnn"',
    f'keyid="{ORIGIN}/{KEY_ID}"', 'alg="ed25519"', '"@method"', '"@target-uri"',
    '"content-digest"', '"kontor-destination"', '"@query"', ":AA==:", "\t", "\u00e9",
    "\r\n", "\x00",
]
_garbage = st.one_of(st.text(max_size=80),
                     st.lists(st.sampled_from(_FRAGMENTS), max_size=30).map("".join))
_header_names = st.sampled_from(["Signature-Input", "Signature", "Content-Digest",
                                 "Kontor-Destination", "signature", "X-Other"])


@settings(max_examples=300, deadline=None)
@given(headers=st.dictionaries(_header_names, _garbage, max_size=6),
       keep_valid=st.booleans(),
       url=st.one_of(st.just(URL), st.text(max_size=40)),
       method=st.one_of(st.just("PUT"), st.text(max_size=8)))
def test_garbage_only_raises_verification_errors(headers: dict[str, str], keep_valid: bool,
                                                 url: str, method: str) -> None:
    merged = {**kontor_headers(), **headers} if keep_valid else headers
    with contextlib.suppress(SignatureVerificationError):
        verify(method, url, merged, BODY)
    with contextlib.suppress(SignatureVerificationError):
        verify_request(method, url, merged, required_components=["@method"],
                       lookup_key=lambda k: PUBLIC_KEY, now=NOW, max_skew_seconds=60,
                       max_lifetime_seconds=600)
