"""``kontor business link``: the business's chat link and a QR code of it (SVG and PNG)
for the shop window, the receipt and the website.

The link is ``<public URL>/chat`` (``[node] public_url``, else ``https://<server
name>``), with ``?product=SKU`` to open the chat with one product of the catalog. The QR
code is made by ``segno`` (error correction level M, a quiet zone of 4 modules).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from urllib.parse import quote

import segno

from node.cli_business import with_business
from node.cli_registry import command, node_config, out
from node.config import Config
from node.services.business import catalog
from node.services.business.context import Business

PNG_SCALE = 10  # pixels per module: about 4 cm at 300 dpi for a short link
SVG_SCALE = 4


def chat_link(config: Config, sku: str | None = None) -> str:
    """The chat page's address, optionally opening with product ``sku``."""
    base = config.node.public_url.rstrip("/") or f"https://{config.node.server_name}"
    link = f"{base}/chat"
    return f"{link}?product={quote(sku, safe='')}" if sku else link


def write_qr(link: str, prefix: Path) -> tuple[Path, Path]:
    """Write ``<prefix>.svg`` and ``<prefix>.png`` encoding ``link``."""
    code = segno.make(link, error="m")
    svg, png = prefix.with_name(prefix.name + ".svg"), prefix.with_name(prefix.name + ".png")
    code.save(str(svg), kind="svg", scale=SVG_SCALE, border=4,
              title="Chat with us", svgclass=None, lineclass=None)
    code.save(str(png), kind="png", scale=PNG_SCALE, border=4)
    return svg, png


def _args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--product", metavar="SKU",
                   help="link to the chat opening with this product of the catalog")
    p.add_argument("--qr", type=Path, metavar="PREFIX",
                   help="write the QR code to PREFIX.svg and PREFIX.png (default: "
                        "kontor-chat, or kontor-chat-SKU, in the current folder)")
    p.add_argument("--no-qr", action="store_true", help="only print the link")


async def _check_product(biz: Business, sku: str) -> None:
    await biz.db.read(catalog.product_txn, catalog.check_sku(sku))


@command("business link", "print the chat link for customers and write its QR code "
         "(SVG and PNG)", _args)
def cmd_business_link(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    if ns.product is not None:
        with_business(config, lambda biz: _check_product(biz, ns.product))
    link = chat_link(config, ns.product)
    out(link)
    if not ns.no_qr:
        prefix = ns.qr or Path(f"kontor-chat-{ns.product}" if ns.product else "kontor-chat")
        for path in write_qr(link, prefix):
            out(f"wrote {path}")
    if not config.webchat.enabled:
        print("kontor: note: [webchat] enabled is off, so only customers who already have an "
              "account can use this link; set it to true in the config and restart the "
              "node", file=sys.stderr)
    return 0
