"""The product catalog: admins edit it; everyone may read it, signed by the node.

Prices are integers in minor units with an ISO 4217 currency (``currencies``).
``compute_order_total`` is pure: the node recomputes every order's total from its own
catalog instead of trusting the figure an app sends.
"""

from __future__ import annotations

import re
from typing import Any

from node.errors import Conflict, InvalidParameter, NotFound
from node.protocol.currencies import MINOR_UNITS, format_amount
from node.services.accounts import Requester, now_ms
from node.services.business import validate as v
from node.services.business.context import Business, require_admin, require_reader
from node.services.business.signed import sign_document
from node.storage import business as store
from node.storage import messages as message_store

DOCUMENT = "catalog"
VALID_FOR_MS = 24 * 3600 * 1000
SKU_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}\Z")
AVAILABILITY = ("in_stock", "out_of_stock", "discontinued")
MAX_PRICE = 10**12
MAX_PRODUCTS = 1000
MAX_ITEMS = 100
MAX_QUANTITY = 999
MAX_STOCK = 10**9
FIELDS = frozenset({"sku", "name", "description", "price_minor", "currency", "image",
                    "availability", "stock"})


def check_sku(value: Any) -> str:
    if not isinstance(value, str) or not SKU_RE.match(value):
        raise InvalidParameter("sku is 1-64 characters of A-Z a-z 0-9 . _ -",
                               code="INVALID_SKU")
    return value


def check_currency(value: Any) -> str:
    if not isinstance(value, str) or value not in MINOR_UNITS:
        raise InvalidParameter("currency must be an ISO 4217 code such as EUR",
                               code="INVALID_CURRENCY")
    return value


def price_from_text(text: str, currency: Any) -> int:
    """``"4.50"`` in EUR -> 450: an amount in the currency's units as minor units (the
    CLI's form; at most as many decimals as the currency has)."""
    code = check_currency(currency)
    exponent = MINOR_UNITS[code]
    whole, dot, frac = text.strip().partition(".")
    if (not whole.isdigit() or not whole.isascii() or (dot and not frac.isdigit())
            or len(frac) > exponent or len(whole) > 13):
        places = f"at most {exponent} decimals" if exponent else "no decimals"
        raise InvalidParameter(f"price {text[:20]!r} must be an amount such as "
                               f"{format_amount(1999, code).split()[0]} ({code} has "
                               f"{places})", code="INVALID_PRICE")
    return int(whole) * 10**exponent + int(frac.ljust(exponent, "0") or 0)


def check_product(body: dict[str, Any], base: dict[str, Any] | None = None) -> dict[str, Any]:
    """A full product from ``body`` (over ``base`` for a partial update)."""
    v.no_unknown(body, FIELDS, "product")
    out: dict[str, Any] = dict(base or {"description": "", "image": None,
                                        "availability": "in_stock", "stock": None})
    if base is None:
        out["sku"] = check_sku(body.get("sku"))
        for required in ("name", "price_minor", "currency"):
            if required not in body:
                raise InvalidParameter(f"missing field {required!r}", code="MISSING_FIELD")
    elif "sku" in body and body["sku"] != base["sku"]:
        raise InvalidParameter("a product's sku cannot change", code="INVALID_SKU")
    if "name" in body:
        out["name"] = v.text(body["name"], "name", 200, min_len=1, single_line=True)
    if "description" in body:
        out["description"] = v.text(body["description"], "description", 2000)
    if "price_minor" in body:
        out["price_minor"] = v.whole(body["price_minor"], "price_minor", 0, MAX_PRICE)
    if "currency" in body:
        out["currency"] = check_currency(body["currency"])
    if "image" in body:
        out["image"] = None if body["image"] is None else v.media_id(body["image"], "image")
    if "availability" in body:
        if body["availability"] not in AVAILABILITY:
            raise InvalidParameter(f"availability is one of {', '.join(AVAILABILITY)}",
                                   code="INVALID_AVAILABILITY")
        out["availability"] = body["availability"]
    if "stock" in body:
        out["stock"] = None if body["stock"] is None else \
            v.whole(body["stock"], "stock", 0, MAX_STOCK)
    return _with_stock(out, body.get("availability"))


def _with_stock(product: dict[str, Any], asked: str | None) -> dict[str, Any]:
    """A counted product (``stock`` not null) is in stock while any is left and sold
    out at 0; only ``discontinued`` (hidden) is set by hand beside a count."""
    stock = product.get("stock")
    if stock is None or product["availability"] == "discontinued":
        return product
    derived = "in_stock" if stock > 0 else "out_of_stock"
    if asked in ("in_stock", "out_of_stock") and asked != derived:
        raise InvalidParameter(f"availability follows the stock count ({stock}): change "
                               "stock, or set stock to null to set availability by hand",
                               code="INVALID_AVAILABILITY")
    return {**product, "availability": derived}


def take_stock_txn(db: Any, lines: list[dict[str, Any]], now: int, sign: int = -1) -> None:
    """An order of ``lines`` takes its quantities from counted products (``sign`` +1
    gives them back: the order was cancelled); 409 ``OUT_OF_STOCK`` when fewer are
    left than ordered, with nothing changed. The catalog's version moves when a
    product sells out or comes back."""
    changed, flipped = [], False
    for line in lines:
        product = store.get_product(db, line["sku"])
        if product is None or product["stock"] is None:
            continue
        left = product["stock"] + sign * line["quantity"]
        if left < 0:
            raise Conflict(f"only {product['stock']} of {line['sku']} left",
                           code="OUT_OF_STOCK",
                           details={"sku": line["sku"], "stock": product["stock"]})
        counted = _with_stock({**product, "stock": min(left, MAX_STOCK)}, None)
        flipped |= counted["availability"] != product["availability"]
        changed.append(counted)
    for product in changed:
        store.update_product_txn(db, product, now)
    if flipped:  # the public catalog says it: a new version
        store.put_document_txn(db, DOCUMENT, {}, now)


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {k: row[k] for k in ("sku", "name", "description", "price_minor", "currency",
                                "image", "availability", "stock", "created_ms",
                                "updated_ms")}


def compute_order_total(catalog: dict[str, dict[str, Any]] | list[dict[str, Any]],
                        items: Any) -> tuple[int, str, list[dict[str, Any]]]:
    """``(total_minor, currency, lines)`` for ``items`` ``[{sku, quantity}]``.

    Refuses (InvalidParameter with a code) an empty or oversized list, a repeated sku,
    an unknown sku, a product not in stock, mixed currencies and quantities outside
    1..999."""
    by_sku = catalog if isinstance(catalog, dict) else {p["sku"]: p for p in catalog}
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise InvalidParameter(f"items is a list of 1 to {MAX_ITEMS} {{sku, quantity}}",
                               code="INVALID_ITEMS")
    lines, seen, currencies = [], set(), set()
    for item in items:
        if not isinstance(item, dict) or set(item) != {"sku", "quantity"}:
            raise InvalidParameter("each item is {sku, quantity}", code="INVALID_ITEMS")
        sku = check_sku(item["sku"])
        quantity = item["quantity"]
        if (isinstance(quantity, bool) or not isinstance(quantity, int)
                or not 1 <= quantity <= MAX_QUANTITY):
            raise InvalidParameter(f"quantity of {sku} must be 1 to {MAX_QUANTITY}",
                                   code="INVALID_QUANTITY")
        if sku in seen:
            raise InvalidParameter(f"{sku} appears twice", code="DUPLICATE_SKU")
        seen.add(sku)
        product = by_sku.get(sku)
        if product is None:
            raise InvalidParameter(f"no product {sku}", code="UNKNOWN_SKU")
        if product["availability"] != "in_stock":
            raise InvalidParameter(f"{sku} is {product['availability'].replace('_', ' ')}",
                                   code="UNAVAILABLE_PRODUCT")
        currencies.add(product["currency"])
        lines.append({"sku": sku, "name": product["name"], "quantity": quantity,
                      "unit_price_minor": product["price_minor"],
                      "line_total_minor": product["price_minor"] * quantity})
    if len(currencies) > 1:
        raise InvalidParameter("the products are priced in different currencies",
                               code="MIXED_CURRENCIES")
    return sum(line["line_total_minor"] for line in lines), currencies.pop(), lines


# --- admin CRUD ------------------------------------------------------------------------------

def _check_image_txn(db: Any, product: dict[str, Any]) -> None:
    if product["image"] and message_store.get_media(db, product["image"]) is None:
        raise InvalidParameter("image: no such media; upload it with POST /media first",
                               code="UNKNOWN_MEDIA")


def _create_txn(db: Any, product: dict[str, Any], now: int) -> None:
    _check_image_txn(db, product)
    if store.count_products(db) >= MAX_PRODUCTS:
        raise Conflict(f"at most {MAX_PRODUCTS} products", code="TOO_MANY_PRODUCTS")
    if not store.insert_product_txn(db, product, now):
        raise Conflict(f"a product with sku {product['sku']} exists", code="SKU_EXISTS")
    store.put_document_txn(db, DOCUMENT, {}, now)


async def create(biz: Business, who: Requester, body: dict[str, Any]) -> dict[str, Any]:
    require_admin(who)
    product = check_product(body)
    await biz.db.write(_create_txn, product, now_ms())
    return await get(biz, who, product["sku"])


def product_txn(db: Any, sku: str) -> dict[str, Any]:
    row = store.get_product(db, sku)
    if row is None:
        raise NotFound(f"no product {sku}", code="UNKNOWN_SKU")
    return row


async def get(biz: Business, who: Requester, sku: str) -> dict[str, Any]:
    require_reader(who)
    return to_json(await biz.db.read(product_txn, check_sku(sku)))


async def list_all(biz: Business, who: Requester) -> list[dict[str, Any]]:
    """Every product, discontinued ones included (the team's view)."""
    require_reader(who)
    return [to_json(r) for r in await biz.db.read(store.list_products)]


def _update_txn(db: Any, sku: str, changes: dict[str, Any], now: int) -> None:
    product = check_product(changes, product_txn(db, sku))
    _check_image_txn(db, product)
    store.update_product_txn(db, product, now)
    store.put_document_txn(db, DOCUMENT, {}, now)


async def update(biz: Business, who: Requester, sku: str,
                 changes: dict[str, Any]) -> dict[str, Any]:
    require_admin(who)
    if not changes:
        raise InvalidParameter("nothing to change", code="EMPTY_UPDATE")
    await biz.db.write(_update_txn, check_sku(sku), changes, now_ms())
    return await get(biz, who, sku)


def _delete_txn(db: Any, sku: str, now: int) -> None:
    if not store.delete_product_txn(db, sku):
        raise NotFound(f"no product {sku}", code="UNKNOWN_SKU")
    store.put_document_txn(db, DOCUMENT, {}, now)


async def delete(biz: Business, who: Requester, sku: str) -> None:
    require_admin(who)
    await biz.db.write(_delete_txn, check_sku(sku), now_ms())


# --- the public, signed catalog ----------------------------------------------------------

def _public_read(db: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    meta = store.get_document(db, DOCUMENT) or {"version": 0, "updated_ms": 0}
    return store.list_products(db, include_discontinued=False), meta


async def public_document(biz: Business) -> dict[str, Any]:
    """The signed catalog: every product that is not discontinued."""
    products, meta = await biz.db.read(_public_read)
    doc = {"type": "kontor.business.catalog", "server_name": biz.server_name,
           "address": biz.address,
           "products": [{k: p[k] for k in ("sku", "name", "description", "price_minor",
                                           "currency", "image", "availability")}
                        for p in products],
           "version": meta["version"], "updated_ms": meta["updated_ms"],
           "valid_until_ms": now_ms() + VALID_FOR_MS}
    return sign_document(doc, biz.server_name, biz.node_key)
