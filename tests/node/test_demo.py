"""``kontor demo`` plays its whole story and proves the databases hold no plaintext."""

from __future__ import annotations

from pathlib import Path

from node.demo import run_demo
from node.services import accounts


async def test_demo_plays_the_conversation_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    before = accounts.now_ms()
    assert await run_demo(lines.append, keep=tmp_path / "demo") == 0
    text = "\n".join(lines)
    # The greeting, the away message and the quick reply went out with their
    # placeholders filled in, by the automation device and by Otto's SDK.
    assert "Welcome to Tea & Leaf, Carl! An agent will be with you shortly." in text
    assert "Tea & Leaf is closed for today" in text
    assert "Your order order-1 (70.00 EUR) is confirmed. Thank you Carl! - Otto" in text
    conversation = text.split("== The conversation as the customer")[1]
    assert "{" not in conversation, "no raw placeholder reaches the customer"
    assert "[order 2 x SENCHA-100, 1 x POT-1]" in text
    assert "70.00 EUR (priced by the business's own catalog), confirmed" in text
    assert "labels: New customer, New order" in text
    assert text.count("none of the") == 2 and "FOUND" not in text
    assert abs(accounts.now_ms() - before) < 3600 * 1000, "the simulated clock is undone"
