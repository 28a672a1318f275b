// The business's catalog on the chat page and the customer's cart: products from the
// signed catalog (checked like the profile), "Add to cart", quantities and the total, and
// "Order", which sends the order message end to end (the team's device records it on the
// node, which prices it again from the same catalog). The cart lives in the open page.
import { formatAmount } from "../app/shop.js";
import { h } from "../app/dom.js";
import { pictureInto } from "./images.js";
import { t } from "./i18n.js";

export const MAX_QUANTITY = 999;

export class Shop {
  constructor(client, business, pictures) {
    Object.assign(this, { client, business, pictures, products: new Map(), cart: new Map(), error: null });
  }

  /** Fetch and check the catalog; a catalog that does not check leaves the shop empty. */
  async load() {
    try {
      const catalog = await this.client.businessCatalog(this.business);
      this.products = new Map((catalog.document.products ?? []).map((p) => [p.sku, p]));
    } catch (err) {
      this.error = err.message ?? String(err);
    }
  }

  product(sku) {
    return this.products.get(sku) ?? null;
  }

  add(sku, count = 1) {
    if (!this.product(sku)) return;
    this.setQuantity(sku, (this.cart.get(sku) ?? 0) + count);
  }

  setQuantity(sku, quantity) {
    const q = Math.min(MAX_QUANTITY, Math.max(0, Math.floor(Number(quantity) || 0)));
    if (q) this.cart.set(sku, q);
    else this.cart.delete(sku);
  }

  count() {
    return [...this.cart.values()].reduce((a, b) => a + b, 0);
  }

  /** {minor, currency} of the cart, or null when its products have several currencies. */
  total() {
    const lines = [...this.cart].map(([sku, q]) => [this.product(sku), q]);
    const currencies = new Set(lines.map(([p]) => p.currency));
    if (currencies.size !== 1) return null;
    return { minor: lines.reduce((sum, [p, q]) => sum + p.price_minor * q, 0), currency: [...currencies][0] };
  }

  /** Send the cart as an order message; the cart empties once the message is sent. */
  async order() {
    const total = this.total();
    const items = [...this.cart];
    const sent = await this.client.sendOrder(this.business, items,
      total ? { totalMinor: total.minor, currency: total.currency } : {});
    this.cart.clear();
    return sent;
  }
}

export const price = (p) => formatAmount(p.price_minor, p.currency);

/** One product: picture, name, price, description, and "Add to cart". */
export function productCard(shop, p, onAdd, { headingLevel = "h3" } = {}) {
  const out = p.availability === "out_of_stock";
  return h("article", { class: "product", "aria-label": p.name },
    p.image ? pictureInto(h("img", { class: "product-image", alt: p.name, width: 96, height: 96 }), shop.pictures.publicImage(p.image)) : null,
    h("div", { class: "product-text" },
      h(headingLevel, { class: "product-name" }, p.name),
      h("p", { class: "price" }, price(p), out ? ` · ${t("outOfStock")}` : ""),
      p.description ? h("p", { class: "product-description" }, p.description) : null,
      h("button", { type: "button", disabled: out, "aria-description": p.name, onclick: () => onAdd(p.sku) }, t("addToCart"))));
}

export function catalogView(shop, onAdd) {
  if (shop.error) return h("p", { class: "unverified", role: "alert" }, t("catalogFailed", { why: shop.error }));
  if (!shop.products.size) return h("p", { class: "empty" }, t("noProducts"));
  return h("ul", { class: "products", "aria-label": t("catalog") },
    [...shop.products.values()].map((p) => h("li", {}, productCard(shop, p, onAdd))));
}

/** The cart: a line per product with its quantity, the total, and "Order". */
export function cartView(shop, { onQuantity, onOrder }) {
  if (!shop.cart.size) return h("p", { class: "empty" }, t("cartEmpty"));
  const total = shop.total();
  return h("div", { class: "cart" },
    h("ul", { class: "cart-lines", "aria-label": t("cart") }, [...shop.cart].map(([sku, q]) => cartLine(shop.product(sku), q, onQuantity))),
    h("p", { class: "total" }, total ? t("total", { total: formatAmount(total.minor, total.currency) }) : t("mixedCurrencies")),
    h("button", { type: "button", class: "order", onclick: onOrder }, t("order")));
}

function cartLine(p, quantity, onQuantity) {
  const input = h("input", { type: "number", min: 0, max: MAX_QUANTITY, value: String(quantity), inputmode: "numeric",
    "aria-label": t("quantityOf", { name: p.name }), onchange: (e) => onQuantity(p.sku, e.target.value) });
  return h("li", { class: "cart-line" },
    h("span", { class: "cart-name" }, p.name),
    h("button", { type: "button", "aria-label": t("less", { name: p.name }), onclick: () => onQuantity(p.sku, quantity - 1) }, "−"),
    input,
    h("button", { type: "button", "aria-label": t("more", { name: p.name }), onclick: () => onQuantity(p.sku, quantity + 1) }, "+"),
    h("span", { class: "line-total" }, formatAmount(p.price_minor * quantity, p.currency)));
}
