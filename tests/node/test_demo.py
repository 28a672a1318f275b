"""``kontor demo`` plays its whole story and proves the databases hold no plaintext."""

from __future__ import annotations

from pathlib import Path

from node.demo import AWAY, GREETING, run_demo
from node.services import accounts


async def test_demo_plays_the_conversation_end_to_end(tmp_path: Path) -> None:
    lines: list[str] = []
    before = accounts.now_ms()
    assert await run_demo(lines.append, keep=tmp_path / "demo") == 0
    text = "\n".join(lines)
    assert GREETING in text and AWAY in text
    assert "[order 2 x SENCHA-100, 1 x POT-1]" in text
    assert "70.00 EUR (priced by the business's own catalog), confirmed" in text
    assert "Thank you Carl, enjoy your tea!" in text
    assert "labels: New customer, New order" in text
    assert text.count("none of the") == 2 and "FOUND" not in text
    assert abs(accounts.now_ms() - before) < 3600 * 1000, "the simulated clock is undone"
