"""History approvals in the inbox's settings under `[business] history_approval = team`:
an agent's browser (the team history's first device) approves a colleague's new
browser, which then shows the conversation from before it existed. (Under the default
`admin`, test_inbox_settings.py checks that an agent's settings have no such part.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.async_api import expect

from tests.web.helpers import WAIT_MS, shop_node
from tests.web.inbox import Agent, team_account


async def test_an_agent_approves_a_new_team_device(tmp_path: Path, web_bundle: Path,
                                                   contexts: Any, clients: Any) -> None:
    team = {"account": "shop", "history_approval": "team"}
    async with shop_node(tmp_path, business=team, accounts={"registration": "open"}) as shop:
        await team_account(shop, "anna")
        await team_account(shop, "ben")
        anna = await Agent.sign_in(await contexts(), shop.url, "anna")
        carl = await clients(shop.url, "carl.berg")
        await carl.send_text(f"shop@{shop.config.node.server_name}", "Do you sell oolong?")
        await expect(anna.item("carl.berg@")).to_contain_text("Do you sell oolong?",
                                                               timeout=WAIT_MS)

        # Ben's new browser lists the conversation but cannot read what came before it.
        ben = await Agent.sign_in(await contexts(), shop.url, "ben")
        await expect(ben.item("carl.berg@")).to_have_count(1, timeout=WAIT_MS)
        await expect(ben.item("carl.berg@")).not_to_contain_text("oolong")

        await anna.page.get_by_role("button", name="Settings").click()
        toc = anna.page.get_by_role("navigation", name="Settings sections")
        await expect(toc.get_by_role("link", name="History for new team devices")).to_be_visible()
        history = anna.page.get_by_role("region", name="History for new team devices")
        approve = history.get_by_role("button", name="Approve Ben: Chromium on Linux")
        await approve.click(timeout=WAIT_MS)
        await expect(history.locator(".save-status").filter(has_text="Approved")).to_have_count(
            1, timeout=WAIT_MS)
        await expect(approve).to_have_count(0)
        await expect(history).to_contain_text("Every team device has the history.")
        await expect(ben.item("carl.berg@")).to_contain_text("Do you sell oolong?",
                                                             timeout=WAIT_MS)
        anna.clean()
        ben.clean()
