"""The pieces of guest creation on their own: counting zero bits, challenges, and the
per-address limits with a fake clock."""

from __future__ import annotations

import pytest

from node.errors import InvalidParameter
from node.services import guest_challenge as pow_
from node.services.guest_limits import DAY, HOUR, GuestLimit, GuestLimits, network_of


@pytest.mark.parametrize("digest,bits", [
    (b"\x80", 0), (b"\x40", 1), (b"\x01", 7), (b"\x00\x80", 8), (b"\x00\x00\x10", 19),
    (b"\x00\x00", 16)])
def test_leading_zero_bits(digest: bytes, bits: int) -> None:
    assert pow_.leading_zero_bits(digest) == bits


def test_a_challenge_is_bound_to_its_node_and_secret() -> None:
    raw, expires = pow_.make(b"k" * 32, "shop.example", 12, 1_000)
    assert expires == 1_000 + pow_.TTL_MS
    assert pow_.check(b"k" * 32, "shop.example", raw, 2_000) == (12, expires)
    for secret, name in ((b"j" * 32, "shop.example"), (b"k" * 32, "other.example")):
        with pytest.raises(InvalidParameter) as info:
            pow_.check(secret, name, raw, 2_000)
        assert info.value.code == "INVALID_CHALLENGE"
    with pytest.raises(InvalidParameter) as info:
        pow_.check(b"k" * 32, "shop.example", raw, expires + 1)
    assert info.value.code == "CHALLENGE_EXPIRED"
    nonce = pow_.solve(raw, 12)
    assert pow_.proof_ok(raw, nonce, 12)


@pytest.mark.parametrize("remote,key", [
    ("192.0.2.7", "192.0.2.7"), ("::ffff:192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"), ("2001:db8:1:2::9", "2001:db8:1:2::/64"),
    ("unknown", "unknown")])
def test_addresses_count_by_ipv4_address_or_ipv6_64(remote: str, key: str) -> None:
    assert network_of(remote) == key


def test_limits_per_hour_and_day_with_retry_after() -> None:
    now = [0.0]
    limits = GuestLimits(2, 3, clock=lambda: now[0])
    limits.take("a")
    limits.take("a")
    limits.take("b")  # another address has its own count
    with pytest.raises(GuestLimit) as info:
        limits.check("a")
    assert info.value.details["scope"] == "hour"
    assert info.value.retry_after_ms == int(HOUR * 1000) + 1
    now[0] = HOUR + 1
    limits.take("a")
    with pytest.raises(GuestLimit) as info:
        limits.check("a")
    assert info.value.details["scope"] == "day"
    assert info.value.retry_after_ms == int((DAY - HOUR - 1) * 1000) + 1
    now[0] = DAY + 1
    limits.take("a")  # the first two have left the day


def test_give_back_uncounts_a_failed_creation() -> None:
    limits = GuestLimits(1, 5, clock=lambda: 10.0)
    mark = limits.take("a")
    limits.give_back("a", mark)
    limits.take("a")
    with pytest.raises(GuestLimit):
        limits.check("a")
