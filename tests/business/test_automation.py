"""Greeting and away settings, and the decisions the automation device relies on."""

from __future__ import annotations

import aiohttp

from node.services.business import automation
from node.services.business.automation import away_due, greeting_due, starts_session
from node.services.business.context import DAY_MS
from node.services.business.hours import check_hours
from tests.api.helpers import call
from tests.business.helpers import B, biz, customer, customer_sends, fire_message, team_member
from tests.business.test_hours import ms
from tests.nodes import RunningNode

ON = {"greeting": {"enabled": True, "text": "Hello!", "after_days_silence": 14},
      "away": {"enabled": True, "text": "We are closed.", "manual": False,
               "manual_since_ms": None, "outside_hours": True}}
OFFICE = {"timezone": "UTC",
          "hours": check_hours({d: [{"open": "09:00", "close": "17:00"}]
                                for d in ("mon", "tue", "wed", "thu", "fri")})}


def test_sessions_and_greeting_once_per_trigger() -> None:
    t0 = ms("2025-06-02 10:00")
    assert starts_session(None, t0, ON)
    assert not starts_session(t0, t0 + 13 * DAY_MS, ON)
    assert starts_session(t0, t0 + 14 * DAY_MS, ON)
    state = {"kind": "customer", "session_started_ms": t0, "greeting_sent_ms": None}
    assert greeting_due(state, t0 + 1000, ON)
    assert not greeting_due({**state, "greeting_sent_ms": t0 + 500}, t0 + 1000, ON)
    assert not greeting_due(state, t0 + 2 * DAY_MS, ON), "a stale session is not greeted"
    assert not greeting_due({**state, "kind": "private"}, t0 + 1000, ON)
    off = {**ON, "greeting": {**ON["greeting"], "enabled": False}}
    assert not greeting_due(state, t0 + 1000, off)
    later = t0 + 20 * DAY_MS
    again = {**state, "session_started_ms": later, "greeting_sent_ms": t0 + 500}
    assert greeting_due(again, later + 1000, ON), "a new session after silence greets again"


def test_away_outside_hours_and_manual_once_per_period() -> None:
    evening = ms("2025-06-02 18:00")  # Monday, closed since 17:00
    state = {"kind": "customer", "last_incoming_ms": evening, "away_sent_ms": None}
    assert away_due(state, evening, ON, OFFICE)
    assert not away_due({**state, "away_sent_ms": evening + 1}, evening + 60_000, ON, OFFICE)
    next_evening = ms("2025-06-03 18:30")
    state2 = {**state, "last_incoming_ms": next_evening, "away_sent_ms": evening + 1}
    assert away_due(state2, next_evening, ON, OFFICE), "a new closed period answers again"
    noon = ms("2025-06-03 12:00")
    assert not away_due({**state, "last_incoming_ms": noon}, noon, ON, OFFICE), "open"
    manual = {**ON, "away": {**ON["away"], "manual": True, "manual_since_ms": noon - 1000}}
    assert away_due({**state, "last_incoming_ms": noon}, noon, manual, OFFICE)
    assert not away_due({**state, "last_incoming_ms": noon, "away_sent_ms": noon - 10},
                        noon, manual, OFFICE)
    assert not away_due({**state, "last_incoming_ms": noon - 5000}, noon, manual, OFFICE), \
        "a message from before the away period is not answered"


async def test_settings_api_and_decisions_for_real_conversations(
        node: RunningNode, http: aiohttp.ClientSession) -> None:
    boss = await team_member(node, http, "boss", "admin")
    anna = await team_member(node, http, "anna", "agent")
    status, settings = await call(http, node.url, "GET", B + "/automation",
                                  boss["access_token"])
    assert status == 200 and settings["greeting"]["after_days_silence"] == 14
    status, err = await call(http, node.url, "GET", B + "/automation", anna["access_token"])
    assert (status, err["error"]["code"]) == (403, "FORBIDDEN_ROLE")
    for body, code in (({"greeting": {"enabled": True}}, "MISSING_TEXT"),
                       ({"greeting": {"text": "Hi {who}"}}, "UNKNOWN_PLACEHOLDER"),
                       ({"greeting": {"after_days_silence": 0}}, "INVALID_PARAMETER"),
                       ({"away": {"manual": "yes"}}, "INVALID_PARAMETER"),
                       ({"away": {"manual_since_ms": 5}}, "UNKNOWN_FIELD"),
                       ({"holiday": {}}, "UNKNOWN_FIELD")):
        status, err = await call(http, node.url, "PUT", B + "/automation",
                                 boss["access_token"], body)
        assert (status, err["error"]["code"]) == (400, code), body
    status, settings = await call(http, node.url, "PUT", B + "/automation",
                                  boss["access_token"], {
                                      "greeting": {"enabled": True, "text": "Welcome!"},
                                      "away": {"enabled": True, "text": "Away.",
                                               "manual": True}})
    assert status == 200 and settings["away"]["manual_since_ms"] is not None

    carl = await customer(node, http, "carl")
    await customer_sends(node, http, carl, "c1")
    b = biz(node)
    assert await automation.decide(b, carl["address"]) == {"greeting": "Welcome!",
                                                          "away": "Away."}
    await automation.record_sent(b, carl["address"], "greeting")
    await automation.record_sent(b, carl["address"], "away")
    assert await automation.decide(b, carl["address"]) == {"greeting": None, "away": None}
    state = await automation.conversation_state(b, carl["address"])
    assert state is not None and state["greeting_sent_ms"] is not None
    # Twenty days of silence later, the next message starts a new session.
    later = state["last_activity_ms"] + 20 * DAY_MS
    await fire_message(node, carl["address"], b.address, "m-later", later)
    assert (await automation.decide(b, carl["address"], later + 1000))["greeting"] == "Welcome!"
