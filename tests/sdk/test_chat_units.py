"""The pure parts of ``kontor chat``: the line editor and the texts it shows."""

from __future__ import annotations

from node.chat import render
from node.chat.terminal import LineEditor
from node.client import Message, Order, OrderItem, Product


def test_the_line_editor_edits_and_ignores_control_sequences() -> None:
    editor = LineEditor()
    assert editor.feed("helo\x7f\x7fllo") == [] and editor.buffer == "hello"
    assert editor.feed("\x1b[D\x1b[A\x1b[3~ w\u00f6rld\r") == ["hello w\u00f6rld"]
    assert editor.feed("junk\x15/list\n") == ["/list"]
    assert editor.feed("a\x04") == [] and editor.buffer == "a"  # Ctrl-D needs an empty line
    assert editor.feed("\x7f\x04") == [None]
    assert editor.feed("half\x03") == ["/quit"]
    assert editor.feed("\x01\x02\t") == [] and editor.buffer == "half"


def test_hours_group_equal_days_and_name_closed_ones() -> None:
    nine_five = [{"open": "09:00", "close": "17:00"}]
    week = {d: nine_five for d in ("mon", "tue", "wed", "thu", "fri")}
    week["sat"] = [{"open": "09:00", "close": "12:00"}, {"open": "13:00", "close": "16:00"}]
    assert render.hours({"hours": week}) == (
        "mon-fri 09:00-17:00; sat 09:00-12:00, 13:00-16:00; sun closed")
    assert render.hours({"hours": {"wed": nine_five}}) == (
        "mon-tue closed; wed 09:00-17:00; thu-sun closed")
    assert render.hours({}) == "no opening hours (always open)"


def test_orders_and_products_are_named_and_priced() -> None:
    order = Message("m1", "carl@c.test", "D", "shop@s.test", "shop@s.test", 0,
                    Order("o-1", (OrderItem("A", 3), OrderItem("GONE", 1))), outgoing=True)
    products = {"A": {"sku": "A", "name": "Oolong", "price_minor": 250, "currency": "JPY"}}
    assert render.body(order, products) == (
        "[order o-1: 3 x Oolong (A) at 250 JPY, 1 x GONE; total 750 JPY]")
    product = Message("m2", "shop@s.test", "D", "carl@c.test", "shop@s.test", 0,
                      Product("B", "s.test"))
    assert render.body(product, products) == "[product B of s.test]"  # not in the catalog
