"""``kontor business product|quick-reply|label|greeting|away``: setting the shop up from
the shell.

Each command calls the service function the client API calls (as the operator, an
admin without a device: ``context.operator``), so the rules and error codes are the same
as in docs/business.md; bad input exits 2 and changes nothing. Changes made beside a
running node reach the team's apps with their next sync.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from node.cli_business import upload_file, with_business
from node.cli_registry import command, node_config, out
from node.errors import InvalidParameter, NotFound
from node.protocol.currencies import format_amount
from node.services.business import automation, catalog, labels, quick_replies
from node.services.business.context import Business, operator

STOCK = {"in": "in_stock", "out": "out_of_stock"}


# --- products --------------------------------------------------------------------------------

def _product_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("add", "edit", "remove", "list"))
    p.add_argument("sku", nargs="?", help="the product's SKU (A-Z a-z 0-9 . _ -)")
    p.add_argument("--name")
    p.add_argument("--description")
    p.add_argument("--price", metavar="AMOUNT", help="in the currency's units: 4.50")
    p.add_argument("--currency", metavar="CODE", help="ISO 4217: EUR, USD, JPY, ...")
    p.add_argument("--image", type=Path, metavar="FILE", help="upload this image for it")
    p.add_argument("--no-image", action="store_true", help="edit: remove the image")
    p.add_argument("--stock", type=_stock, metavar="N|in|out",
                   help="how many are left (counted: orders take from it, 0 is sold out), "
                        "or in / out to say it by hand (not counted)")
    shown = p.add_mutually_exclusive_group()
    shown.add_argument("--hidden", action="store_true",
                       help="not in the public catalog (availability discontinued)")
    shown.add_argument("--visible", action="store_true", help="edit: in the catalog again")


def _stock(text: str) -> str | int:
    if text in STOCK:
        return text
    if text.isascii() and text.isdigit() and len(text) <= 9:
        return int(text)
    raise argparse.ArgumentTypeError(f"{text!r}: a count (0, 12, ...), in or out")


def _availability(ns: argparse.Namespace, current: dict[str, Any] | None) -> str | None:
    """The availability the flags ask for; None when they leave it as it is (or a
    stock count decides it)."""
    was = current["availability"] if current else "in_stock"
    hidden = ns.hidden or (was == "discontinued" and not ns.visible)
    if hidden:
        return "discontinued"
    if isinstance(ns.stock, str):
        return STOCK[ns.stock]
    count = ns.stock if isinstance(ns.stock, int) else (current or {}).get("stock")
    if count is not None:  # counted: the count decides
        return "in_stock" if count > 0 else "out_of_stock"
    return "in_stock" if was == "discontinued" else None


def product_body(ns: argparse.Namespace, current: dict[str, Any] | None) -> dict[str, Any]:
    """The product fields the flags set (checked by ``catalog.check_product``)."""
    body: dict[str, Any] = {"sku": ns.sku} if current is None else {}
    for name in ("name", "description", "currency"):
        if getattr(ns, name) is not None:
            body[name] = getattr(ns, name)
    if ns.price is not None:
        currency = body.get("currency") or (current or {}).get("currency")
        if currency is None:
            raise InvalidParameter("--price needs --currency", code="MISSING_FIELD")
        body["price_minor"] = catalog.price_from_text(ns.price, currency)
    availability = _availability(ns, current)
    if availability is not None and (current is None
                                     or availability != current["availability"]):
        body["availability"] = availability
    if isinstance(ns.stock, int):
        body["stock"] = ns.stock
    elif isinstance(ns.stock, str) and (current or {}).get("stock") is not None:
        body["stock"] = None  # in / out by hand: no longer counted
    if ns.no_image:
        body["image"] = None
    return body


async def _product(biz: Business, ns: argparse.Namespace) -> Any:
    who = operator(biz)
    if ns.action == "list":
        return await catalog.list_all(biz, who)
    if ns.sku is None:
        raise InvalidParameter(f"product {ns.action} needs a SKU", code="INVALID_SKU")
    if ns.action == "remove":
        await catalog.delete(biz, who, ns.sku)
        return None
    if ns.action == "add" and None in (ns.name, ns.price, ns.currency):
        raise InvalidParameter("product add needs --name, --price and --currency",
                               code="MISSING_FIELD")
    current = None if ns.action == "add" else await catalog.get(biz, who, ns.sku)
    body = product_body(ns, current)
    catalog.check_product(body, current)  # before an upload, so bad input changes nothing
    if ns.image is not None:
        body["image"] = await upload_file(biz, ns.image)
    if current is None:
        return await catalog.create(biz, who, body)
    return await catalog.update(biz, who, ns.sku, body)


def _product_line(p: dict[str, Any]) -> str:
    state = {"in_stock": "in stock", "out_of_stock": "sold out",
             "discontinued": "hidden"}[p["availability"]]
    if p.get("stock") is not None and p["availability"] == "in_stock":
        state = f"{p['stock']} left"
    image = "image" if p["image"] else "no image"
    price = format_amount(p["price_minor"], p["currency"])
    return f"{p['sku']:16} {p['name'][:32]:32} {price:>14}  {state:8}  {image}"


@command("business product", "the catalog: add, edit, remove or list products",
         _product_args)
def cmd_business_product(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    result = with_business(config, lambda biz: _product(biz, ns))
    if ns.action == "list":
        for product in result:
            out(_product_line(product))
        if not result:
            out("no products yet (kontor business product add SKU --name ... --price ...)")
    elif ns.action == "remove":
        out(f"removed {ns.sku}")
    else:
        out(_product_line(result))
    return 0


# --- quick replies ---------------------------------------------------------------------------

def _quick_reply_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("add", "edit", "remove", "list"))
    p.add_argument("shortcut", nargs="?", help="/thanks")
    p.add_argument("text", nargs="?", help="add, edit: the text (placeholders such as "
                   "{customer_name} are filled in when sent)")


async def _quick_reply(biz: Business, ns: argparse.Namespace) -> Any:
    who = operator(biz)
    if ns.action == "list":
        return await quick_replies.list_all(biz, who)
    if ns.shortcut is None or (ns.action != "remove" and ns.text is None):
        needs = "a SHORTCUT" if ns.action == "remove" else "a SHORTCUT and a TEXT"
        raise InvalidParameter(f"quick-reply {ns.action} needs {needs}",
                               code="MISSING_FIELD")
    if ns.action == "remove":
        return await quick_replies.delete(biz, who, ns.shortcut)
    if ns.action == "add":
        return await quick_replies.create(biz, who, ns.shortcut, ns.text)
    return await quick_replies.update(biz, who, ns.shortcut, ns.text)


@command("business quick-reply", "canned answers: add, edit, remove or list",
         _quick_reply_args)
def cmd_business_quick_reply(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    result = with_business(config, lambda biz: _quick_reply(biz, ns))
    if ns.action == "list":
        for reply in result:
            out(f"{reply['shortcut']:20} {reply['text']}")
    elif ns.action == "remove":
        out(f"removed {ns.shortcut}")
    else:
        out(f"{result['shortcut']:20} {result['text']}")
    return 0


# --- labels ----------------------------------------------------------------------------------

def _label_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("action", choices=("add", "edit", "remove", "list"))
    p.add_argument("label", nargs="?", help="its name (or, for edit and remove, its id)")
    p.add_argument("--name", help="edit: the new name")
    p.add_argument("--color", help="#rrggbb (add: default #808080)")


async def _label_id(biz: Business, name_or_id: str) -> int:
    for label in await labels.list_all(biz, operator(biz)):
        if label["name"].lower() == name_or_id.lower() or str(label["label_id"]) == name_or_id:
            return int(label["label_id"])
    raise NotFound(f"no label {name_or_id!r} (kontor business label list)",
                   code="UNKNOWN_LABEL")


async def _label(biz: Business, ns: argparse.Namespace) -> Any:
    who = operator(biz)
    if ns.action == "list":
        return await labels.list_all(biz, who)
    if ns.label is None:
        raise InvalidParameter(f"label {ns.action} needs a label name", code="MISSING_FIELD")
    if ns.action == "add":
        return await labels.create(biz, who, ns.label, ns.color or "#808080")
    label_id = await _label_id(biz, ns.label)
    if ns.action == "remove":
        return await labels.delete(biz, who, label_id)
    changes = {k: v for k, v in (("name", ns.name), ("color", ns.color)) if v is not None}
    return await labels.update(biz, who, label_id, changes)


@command("business label", "conversation labels: add, edit, remove or list", _label_args)
def cmd_business_label(ns: argparse.Namespace) -> int:
    config = node_config(ns)
    result = with_business(config, lambda biz: _label(biz, ns))
    if ns.action == "list":
        for label in result:
            out(f"{label['label_id']:>4}  {label['color']}  {label['name']}")
    elif ns.action == "remove":
        out(f"removed {ns.label}")
    else:
        out(f"{result['label_id']:>4}  {result['color']}  {result['name']}")
    return 0


# --- greeting and away -----------------------------------------------------------------------

def _switch(value: str) -> bool:
    if value.lower() in ("on", "yes", "true"):
        return True
    if value.lower() in ("off", "no", "false"):
        return False
    raise argparse.ArgumentTypeError("use on or off")


def _automation_args(kind: str) -> Any:
    def add(p: argparse.ArgumentParser) -> None:
        p.add_argument("--text", help="the message (placeholders such as {business_name} "
                       "are filled in when sent)")
        p.add_argument("--enabled", type=_switch, metavar="on|off",
                       help=f"send the {kind} message or not")
        if kind == "greeting":
            p.add_argument("--after-days", type=int, metavar="N",
                           help="greet again after N days of silence (1-365)")
        else:
            p.add_argument("--now", type=_switch, metavar="on|off",
                           help="away by hand, whatever the opening hours say")
            p.add_argument("--outside-hours", type=_switch, metavar="on|off",
                           help="away whenever the profile's hours say closed")
    return add


def automation_changes(kind: str, ns: argparse.Namespace) -> dict[str, Any]:
    names = {"text": "text", "enabled": "enabled", "after_days": "after_days_silence",
             "now": "manual", "outside_hours": "outside_hours"}
    part = {key: getattr(ns, flag) for flag, key in names.items()
            if getattr(ns, flag, None) is not None}
    return {kind: part} if part else {}


def _automation_command(kind: str) -> None:
    def run(ns: argparse.Namespace) -> int:
        config = node_config(ns)
        changes = automation_changes(kind, ns)

        async def apply(biz: Business) -> dict[str, Any]:
            if changes:
                return await automation.update_settings(biz, operator(biz), changes)
            return await automation.get_settings(biz, operator(biz))
        settings = with_business(config, apply)[kind]
        out(f"{kind}: {'on' if settings['enabled'] else 'off'}")
        out(f"text: {settings['text'] or '(none)'}")
        if kind == "greeting":
            out(f"again after: {settings['after_days_silence']} days of silence")
        else:
            out(f"away by hand: {'on' if settings['manual'] else 'off'}")
            out(f"outside opening hours: {'on' if settings['outside_hours'] else 'off'}")
        return 0
    command(f"business {kind}", f"show or set the {kind} message", _automation_args(kind))(run)


_automation_command("greeting")
_automation_command("away")
