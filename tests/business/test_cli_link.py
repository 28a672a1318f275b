"""``kontor business link``: the chat link, and a QR code that Debian's zbarimg reads
back as exactly that link (PNG; the SVG is checked to be an SVG of the same code)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.nodes import REPO, initialised, write_config


def kontor(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "node", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=60, env={"PYTHONPATH": str(REPO),
                                                      "PATH": "/usr/bin:/bin"})


def decode(png: Path) -> str:
    zbarimg = shutil.which("zbarimg")
    if zbarimg is None:
        pytest.skip("zbarimg is not installed (apt-get install zbar-tools)")
    done = subprocess.run([zbarimg, "--raw", "-q", str(png)], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_link_and_its_qr_code(tmp_path: Path) -> None:
    ini = initialised(write_config(tmp_path / "node", server_name="shop.example",
                                   sections={"webchat": {"enabled": "true"}}))
    done = kontor("business", "link", "-c", str(ini), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["https://shop.example/chat",
                                        f"wrote {Path('kontor-chat.svg')}",
                                        f"wrote {Path('kontor-chat.png')}"]
    assert done.stderr == ""
    assert decode(tmp_path / "kontor-chat.png") == "https://shop.example/chat"
    svg = (tmp_path / "kontor-chat.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg and "<title>Chat with us</title>" in svg


def test_a_product_link_needs_a_product_of_the_catalog(tmp_path: Path) -> None:
    ini = initialised(write_config(tmp_path / "node", server_name="shop.example",
                                   sections={"node": {"public_url": "https://chat.shop.example"}}))
    refused = kontor("business", "link", "--product", "SENCHA", "-c", str(ini), cwd=tmp_path)
    assert refused.returncode == 2 and "UNKNOWN_SKU" in refused.stderr
    assert not list(tmp_path.glob("*.png"))
    bad = kontor("business", "link", "--product", "no sku!", "-c", str(ini), cwd=tmp_path)
    assert bad.returncode == 2 and "INVALID_SKU" in bad.stderr
    added = kontor("business", "product", "add", "SENCHA", "--name", "Sencha", "--price",
                   "8.90", "--currency", "EUR", "-c", str(ini), cwd=tmp_path)
    assert added.returncode == 0, added.stderr
    done = kontor("business", "link", "--product", "SENCHA", "--qr", str(tmp_path / "tea"),
                  "-c", str(ini), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    link = "https://chat.shop.example/chat?product=SENCHA"
    assert done.stdout.splitlines()[0] == link
    assert decode(tmp_path / "tea.png") == link
    assert "[webchat] enabled is off" in done.stderr  # said, but not an error
    only = kontor("business", "link", "--no-qr", "-c", str(ini), cwd=tmp_path / "node")
    assert only.stdout.splitlines() == ["https://chat.shop.example/chat"]
    assert not (tmp_path / "node" / "kontor-chat.png").exists()
