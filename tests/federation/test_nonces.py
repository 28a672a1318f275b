"""The replay cache: replays refused, expiry forgets, memory bounds hold."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from federation.nonces import NonceCache, NonceCapacityError, NonceError, ReplayError

NOW = 1_764_000_000


def test_replay_refused() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 300, NOW)
    with pytest.raises(ReplayError) as err:
        cache.check_and_remember("a.example", "n1", NOW + 300, NOW + 10)
    assert err.value.code == "REPLAYED_NONCE"
    assert isinstance(err.value, NonceError)


def test_same_nonce_from_another_origin_is_distinct() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 300, NOW)
    cache.check_and_remember("b.example", "n1", NOW + 300, NOW)
    assert len(cache) == 2


def test_remembered_until_expiry_then_forgotten() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 300, NOW)
    with pytest.raises(ReplayError):
        cache.check_and_remember("a.example", "n1", NOW + 300, NOW + 300)  # still valid then
    cache.purge(NOW + 301)
    assert len(cache) == 0 and cache.count("a.example") == 0
    cache.check_and_remember("a.example", "n1", NOW + 700, NOW + 301)


def test_fractional_times_are_kept_at_least_until_expiry() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 10.5, NOW + 0.25)
    cache.purge(NOW + 10.5)
    assert len(cache) == 1
    cache.purge(NOW + 11.5)
    assert len(cache) == 0


def test_already_expired_nonce_is_not_stored() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW - 1, NOW)
    assert len(cache) == 0


def test_expiry_beyond_the_window_is_refused_not_forgotten_early() -> None:
    cache = NonceCache(window_seconds=60, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 60, NOW)
    with pytest.raises(NonceError):
        cache.check_and_remember("a.example", "n2", NOW + 61, NOW)
    assert len(cache) == 1


def test_purge_after_a_long_idle_gap_is_cheap_and_complete() -> None:
    cache = NonceCache(window_seconds=720, max_entries=1000)
    for i in range(50):
        cache.check_and_remember("a.example", f"n{i}", NOW + i, NOW)
    cache.check_and_remember("b.example", "late", NOW + 10**8, NOW + 10**8 - 5)
    assert len(cache) == 1  # everything older was purged in the same call
    cache.purge(NOW + 10**8 + 6)
    assert len(cache) == 0


def test_clock_going_backwards_still_purges() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100)
    cache.check_and_remember("a.example", "n1", NOW + 100, NOW + 50)
    cache.check_and_remember("a.example", "n2", NOW + 20, NOW)  # earlier clock reading
    cache.purge(NOW + 30)
    assert len(cache) == 1
    with pytest.raises(ReplayError):
        cache.check_and_remember("a.example", "n1", NOW + 100, NOW + 30)


def test_per_origin_cap() -> None:
    cache = NonceCache(window_seconds=720, max_entries=100, max_per_origin=3)
    for i in range(3):
        cache.check_and_remember("noisy.example", f"n{i}", NOW + 300, NOW)
    with pytest.raises(NonceCapacityError) as err:
        cache.check_and_remember("noisy.example", "n3", NOW + 300, NOW)
    assert err.value.code == "NONCE_CACHE_FULL"
    cache.check_and_remember("quiet.example", "n0", NOW + 300, NOW)
    # A replay is still reported as a replay, not as a full cache.
    with pytest.raises(ReplayError):
        cache.check_and_remember("noisy.example", "n0", NOW + 300, NOW)
    cache.purge(NOW + 301)
    cache.check_and_remember("noisy.example", "n3", NOW + 600, NOW + 301)


def test_near_full_refuses_the_noisiest_origin_first() -> None:
    cache = NonceCache(window_seconds=720, max_entries=10, max_per_origin=10)
    for i in range(8):
        cache.check_and_remember("noisy.example", f"n{i}", NOW + 300, NOW)
    cache.check_and_remember("quiet.example", "q0", NOW + 300, NOW)  # 9 of 10 now held
    with pytest.raises(NonceCapacityError):
        cache.check_and_remember("noisy.example", "n8", NOW + 300, NOW)
    cache.check_and_remember("new.example", "x0", NOW + 300, NOW)  # quiet origins still fit
    with pytest.raises(NonceCapacityError):  # completely full: everyone waits
        cache.check_and_remember("other.example", "y0", NOW + 300, NOW)
    assert len(cache) == 10


def test_oversized_values_refused() -> None:
    cache = NonceCache(window_seconds=720, max_entries=10)
    with pytest.raises(NonceError):
        cache.check_and_remember("a" * 256, "n", NOW + 1, NOW)
    with pytest.raises(NonceError):
        cache.check_and_remember("a.example", "n" * 129, NOW + 1, NOW)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c", "d"]), st.integers(0, 30),
                          st.integers(-5, 100), st.integers(0, 3)), max_size=200))
def test_bounds_and_replay_model(ops: list[tuple[str, int, int, int]]) -> None:
    """Against a simple model: never more than the caps, never a replay let through."""
    cache = NonceCache(window_seconds=60, max_entries=12, max_per_origin=5)
    now = NOW
    model: dict[tuple[str, str], float] = {}
    for origin, nonce_number, lifetime, tick in ops:
        now += tick
        nonce = f"n{nonce_number}"
        expires = now + lifetime
        live = model.get((origin, nonce))
        try:
            cache.check_and_remember(origin, nonce, expires, now)
        except ReplayError:
            assert live is not None and live >= now - 1
            continue
        except NonceCapacityError:
            continue
        except NonceError:  # neither of the above: an expiry beyond the window
            assert expires > now + 60
            continue
        assert live is None or live < now
        if expires >= now:
            model[(origin, nonce)] = expires
        assert len(cache) <= 12
        assert all(cache.count(o) <= 5 for o in "abcd")
