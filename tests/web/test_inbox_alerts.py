"""Telling an agent a customer wrote, and the statistics page, in Chromium.

The page asks for the notification permission only when the agent clicks for it; while
the tab is hidden a customer's message shows a desktop notification and plays the
WebAudio chime (unless switched off); the tab's title carries the unread count. The
statistics page draws the node's figures as SVG with a text alternative and a table.

The browser's Notification and AudioContext are watched (not replaced) by an init
script, and the tab is made hidden by overriding ``document.visibilityState``: headless
Chromium keeps every page visible.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect

from tests.sdk.conftest import receive
from tests.web.inbox import WAIT_MS, Agent, team_account

WATCH = """(() => {
  window.watched = { asked: 0, shown: [], notes: 0 };
  const ask = Notification.requestPermission.bind(Notification);
  Notification.requestPermission = (...args) => { window.watched.asked += 1; return ask(...args); };
  window.Notification = new Proxy(Notification, { construct(target, args) {
    window.watched.shown.push({ title: args[0], body: args[1]?.body });
    return Reflect.construct(target, args);
  } });
  const oscillator = AudioContext.prototype.createOscillator;
  AudioContext.prototype.createOscillator = function () {
    window.watched.notes += 1;
    return oscillator.call(this);
  };
})();"""

HIDE = """(hidden) => {
  Object.defineProperty(document, "visibilityState", { configurable: true,
    get: () => (hidden ? "hidden" : "visible") });
  Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
  document.dispatchEvent(new Event("visibilitychange"));
}"""


async def watched(agent: Agent) -> dict[str, Any]:
    return await agent.page.evaluate("() => window.watched")


async def test_notifications_sound_title_and_statistics(shop: Any, contexts: Any,
                                                        clients: Any) -> None:
    await team_account(shop, "anna")
    context = await contexts()
    await context.add_init_script(WATCH)
    anna = await Agent.sign_in(context, shop.url, "anna")
    page = anna.page
    business = f"shop@{shop.config.node.server_name}"
    carl = await clients(shop.url, "carl.berg")

    # Nothing is asked on load; the click on "Desktop notifications" asks once.
    assert (await watched(anna))["asked"] == 0
    await page.get_by_role("button", name="Settings").click()
    await page.get_by_role("button", name="Desktop notifications").click()
    assert (await watched(anna))["asked"] == 1
    await context.grant_permissions(["notifications"])
    await page.get_by_role("button", name="Statistics").click()
    await page.get_by_role("button", name="Settings").click()
    await expect(page.get_by_role("button", name="Desktop notifications")).to_have_attribute(
        "aria-pressed", "true")
    sound = page.get_by_role("checkbox", name="Play a sound when a customer writes")
    await expect(sound).to_be_checked()
    await page.get_by_role("button", name="Inbox").click()

    # The tab is hidden; Carl writes: a notification, the chime, the count in the title.
    await page.evaluate(HIDE, True)
    notes_before = (await watched(anna))["notes"]
    await carl.send_text(business, "Is the shop open on Sunday?")
    await expect(anna.item("carl.berg@")).to_contain_text("1 unread", timeout=WAIT_MS)
    await expect(page).to_have_title(re.compile(r"^\(1\) "))
    seen = await watched(anna)
    assert seen["shown"] == [{"title": "Carl Berg", "body": "Is the shop open on Sunday?"}]
    assert seen["notes"] == notes_before + 2, "the chime is two notes"

    # The sound switched off: the next message notifies silently.
    await page.evaluate(HIDE, False)
    await page.get_by_role("button", name="Settings").click()
    await sound.uncheck()
    await page.get_by_role("button", name="Inbox").click()
    await page.evaluate(HIDE, True)
    await carl.send_text(business, "Or on Monday?")
    await expect(anna.item("carl.berg@")).to_contain_text("2 unread", timeout=WAIT_MS)
    await expect(page).to_have_title(re.compile(r"^\(2\) "))
    seen = await watched(anna)
    assert [n["body"] for n in seen["shown"]][-1] == "Or on Monday?"
    assert seen["notes"] == notes_before + 2, "no sound once switched off"

    # Shown again and read: the count leaves the title.
    await page.evaluate(HIDE, False)
    await anna.open("carl.berg@")
    await expect(page).to_have_title("Kontor inbox", timeout=WAIT_MS)
    await anna.send("We open at 10 on Monday.")
    await receive(carl, 1)

    # Statistics: the node's figures as SVG images with text alternatives, and as tables.
    await page.get_by_role("button", name="Statistics").click()
    stats = page.get_by_role("main", name="Statistics")
    chart = stats.get_by_role("img", name=re.compile(r"^Messages per day: Received, at most 2"))
    await expect(chart).to_be_visible(timeout=WAIT_MS)
    await expect(chart.locator("rect.bar")).to_have_count(14)
    await stats.get_by_text("Messages per day as a table").click()
    table = stats.get_by_role("table", name="Messages per day")
    await expect(table.get_by_role("row").last).to_contain_text("2")
    await expect(stats.get_by_role("img", name=re.compile("^First response time per day: "
                                                          "Median first response, at most")))\
        .to_be_visible()
    await stats.get_by_role("combobox", name="Period").select_option("30")
    await expect(stats.get_by_role("img", name=re.compile("^Messages per day")).locator(
        "rect.bar")).to_have_count(60, timeout=WAIT_MS)
    anna.clean()
