"""Opening hours: weekdays, midnight crossing, exceptions and DST (pure functions)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from node.errors import InvalidParameter
from node.services.business.hours import (
    check_exceptions,
    check_hours,
    expand_days,
    is_open,
    last_closed_ms,
    next_change_ms,
    parse_spec,
)


def ms(text: str) -> int:
    """An instant written in UTC: '2025-03-31 07:00'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def iv(open_: str, close: str) -> dict[str, str]:
    return {"open": open_, "close": close}


BERLIN = {"timezone": "Europe/Berlin",
          "hours": check_hours({"mon": [iv("09:00", "12:00"), iv("13:00", "17:30")],
                                "fri": [iv("22:00", "02:00")],
                                "sun": [iv("01:00", "04:00")]}),
          "exceptions": {}}


@pytest.mark.parametrize("when,expected", [
    ("2025-06-02 06:59", False),  # Monday 08:59 CEST
    ("2025-06-02 07:00", True),   # 09:00 CEST
    ("2025-06-02 10:30", False),  # lunch 12:30
    ("2025-06-02 15:29", True),   # 17:29
    ("2025-06-02 15:30", False),  # 17:30: close is exclusive
    ("2025-06-06 19:59", False),  # Friday 21:59
    ("2025-06-06 20:00", True),   # Friday 22:00
    ("2025-06-06 23:30", True),   # Saturday 01:30, still Friday's interval
    ("2025-06-07 00:00", False),  # Saturday 02:00
    ("2025-01-06 08:00", True),   # winter Monday 09:00 CET is 08:00 UTC
    ("2025-01-06 07:30", False),
])
def test_weekly_hours_in_the_business_time_zone(when: str, expected: bool) -> None:
    assert is_open(BERLIN, ms(when)) is expected


def test_spring_forward_interval_lasts_its_real_length() -> None:
    # Sunday 2025-03-30: 02:00 CET jumps to 03:00 CEST. 01:00-04:00 local is 00:00-02:00 UTC.
    assert not is_open(BERLIN, ms("2025-03-29 23:59"))
    assert is_open(BERLIN, ms("2025-03-30 00:00"))
    assert is_open(BERLIN, ms("2025-03-30 01:30"))   # 03:30 CEST
    assert not is_open(BERLIN, ms("2025-03-30 02:00"))  # 04:00 CEST
    # The next Monday opens at 09:00 CEST, which is 07:00 UTC now.
    assert not is_open(BERLIN, ms("2025-03-31 06:59"))
    assert is_open(BERLIN, ms("2025-03-31 07:00"))


def test_fall_back_interval_lasts_its_real_length() -> None:
    # Sunday 2025-10-26: 03:00 CEST falls back to 02:00 CET. 01:00 CEST is 23:00 UTC the
    # day before; 04:00 CET is 03:00 UTC: four real hours.
    assert not is_open(BERLIN, ms("2025-10-25 22:59"))
    assert is_open(BERLIN, ms("2025-10-25 23:00"))
    assert is_open(BERLIN, ms("2025-10-26 02:59"))
    assert not is_open(BERLIN, ms("2025-10-26 03:00"))
    assert is_open(BERLIN, ms("2025-10-27 08:00")) and not is_open(BERLIN, ms("2025-10-27 07:59"))


def test_exceptions_replace_a_dates_hours() -> None:
    profile = {**BERLIN, "exceptions": check_exceptions({
        "2025-06-02": [],                          # a closed Monday
        "2025-06-03": [iv("10:00", "11:00")],     # a Tuesday with special hours
    })}
    assert not is_open(profile, ms("2025-06-02 08:00"))
    assert is_open(profile, ms("2025-06-03 08:30"))
    assert not is_open(profile, ms("2025-06-03 09:00"))
    assert is_open(profile, ms("2025-06-09 08:00")), "the next Monday is normal again"
    # An exception on the Saturday does not cut Friday's interval short.
    friday = {**BERLIN, "exceptions": {"2025-06-07": []}}
    assert is_open(friday, ms("2025-06-06 23:30"))


def test_whole_day_and_no_hours() -> None:
    always = {"timezone": "UTC", "hours": check_hours({"tue": [iv("00:00", "24:00")]})}
    assert is_open(always, ms("2025-06-03 00:00")) and is_open(always, ms("2025-06-03 23:59"))
    assert not is_open(always, ms("2025-06-04 00:00"))
    assert is_open({"timezone": "UTC", "hours": {}}, ms("2025-06-04 00:00")), \
        "a business that never set hours is not 'closed'"


def test_last_closed_is_the_end_of_the_latest_interval() -> None:
    assert last_closed_ms(BERLIN, ms("2025-06-02 18:00")) == ms("2025-06-02 15:30")
    assert last_closed_ms(BERLIN, ms("2025-06-02 11:00")) == ms("2025-06-02 10:00")


def test_cli_spec_parsing() -> None:
    assert parse_spec("mon=09:00-12:00,13:00-17:00") == (
        "mon", [iv("09:00", "12:00"), iv("13:00", "17:00")])
    assert parse_spec("2025-12-25=closed") == ("2025-12-25", [])
    for bad in ("mon", "mon=9-5", "mon=09:00", "=09:00-10:00"):
        with pytest.raises(InvalidParameter):
            parse_spec(bad)


def test_day_ranges_and_lists() -> None:
    assert expand_days("mon-fri") == ["mon", "tue", "wed", "thu", "fri"]
    assert expand_days("fri-mon") == ["fri", "sat", "sun", "mon"]
    assert expand_days("mon-wed,fri,Tue") == ["mon", "tue", "wed", "fri"]
    for bad in ("", "monday", "mon-", "mon-xyz", "mon,,fri"):
        with pytest.raises(InvalidParameter):
            expand_days(bad)


def test_next_opening_and_closing() -> None:
    # 2025-03-31 is a Monday; Berlin is UTC+2 from the day before.
    assert next_change_ms(BERLIN, ms("2025-03-31 08:00")) == ms("2025-03-31 10:00")
    assert next_change_ms(BERLIN, ms("2025-03-31 10:30")) == ms("2025-03-31 11:00")
    assert next_change_ms(BERLIN, ms("2025-03-31 16:00")) == ms("2025-04-04 20:00")
    assert next_change_ms(BERLIN, ms("2025-04-04 21:00")) == ms("2025-04-05 00:00")
    touching = {"timezone": "UTC", "hours": {"tue": [iv("09:00", "12:00"),
                                                     iv("12:00", "17:00")]}}
    assert next_change_ms(touching, ms("2025-04-01 10:00")) == ms("2025-04-01 17:00")
    always = {"timezone": "UTC", "hours": {d: [iv("00:00", "24:00")] for d in
                                           ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}}
    assert next_change_ms(always, ms("2025-04-01 10:00")) is None
    assert next_change_ms({"timezone": "UTC", "hours": {}}, ms("2025-04-01 10:00")) is None
