"""The catalog's products (``biz_products``).

Functions ending in ``_txn`` run inside ``Database.write``.
"""

from __future__ import annotations

from typing import Any

from node.storage.business._sql import Db, _one

_PRODUCT_COLS = ("sku, name, description, price_minor, currency, image, availability, "
                 "stock, created_ms, updated_ms")


def list_products(db: Db, include_discontinued: bool = True) -> list[dict[str, Any]]:
    where = "" if include_discontinued else " WHERE availability != 'discontinued'"
    return list(db.query(f"SELECT {_PRODUCT_COLS} FROM biz_products{where} ORDER BY sku"))


def get_product(db: Db, sku: str) -> dict[str, Any] | None:
    return _one(db, f"SELECT {_PRODUCT_COLS} FROM biz_products WHERE sku = ?", [sku])


def count_products(db: Db) -> int:
    return db.execute("SELECT COUNT(*) FROM biz_products").fetchone()[0]


def insert_product_txn(db: Db, product: dict[str, Any], now_ms: int) -> bool:
    """False when the sku exists."""
    return db.execute(
        "INSERT OR IGNORE INTO biz_products (sku, name, description, price_minor, currency, "
        "image, availability, stock, created_ms, updated_ms) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [product["sku"], product["name"], product["description"], product["price_minor"],
         product["currency"], product["image"], product["availability"],
         product.get("stock"), now_ms, now_ms]).rowcount == 1


def update_product_txn(db: Db, product: dict[str, Any], now_ms: int) -> bool:
    return db.execute(
        "UPDATE biz_products SET name = ?, description = ?, price_minor = ?, currency = ?, "
        "image = ?, availability = ?, stock = ?, updated_ms = ? WHERE sku = ?",
        [product["name"], product["description"], product["price_minor"], product["currency"],
         product["image"], product["availability"], product.get("stock"), now_ms,
         product["sku"]]).rowcount == 1


def delete_product_txn(db: Db, sku: str) -> bool:
    return db.execute("DELETE FROM biz_products WHERE sku = ?", [sku]).rowcount == 1


def product_images(db: Db) -> set[str]:
    return {r[0] for r in db.execute("SELECT image FROM biz_products WHERE image IS NOT NULL")}
