// The shop's side of a conversation: quick replies with their placeholders filled
// (node/protocol/placeholders.py's values_for, the same rules), the catalog for product
// cards, and the conversation's orders, recorded on the node and moved by status buttons.
import { expandQuickReply } from "../src/content.js";
import { displayName } from "./model.js";

const q = encodeURIComponent;
/** Where an order may go from each status (docs/business.md "Catalog and orders"). */
export const NEXT_STATUS = {
  new: ["confirmed", "paid", "shipped", "completed", "cancelled"],
  confirmed: ["paid", "shipped", "completed", "cancelled"],
  paid: ["shipped", "completed", "cancelled"],
  shipped: ["completed", "cancelled"],
  completed: [],
  cancelled: [],
};

/** `1999, "EUR"` -> `19.99 EUR` (node/protocol/currencies.py's format_amount). */
export function formatAmount(minor, currency) {
  let exponent = 2;
  try {
    exponent = new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits;
  } catch {
    // an unknown code: two decimals, as the node does
  }
  if (exponent === 0) return `${minor} ${currency}`;
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const frac = String(abs % 10 ** exponent).padStart(exponent, "0");
  return `${sign}${Math.floor(abs / 10 ** exponent)}.${frac} ${currency}`;
}

/** `YYYY-MM-DD` now in the IANA zone (UTC when unknown). */
export function localDate(nowMs, timeZone) {
  const parts = (zone) => new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" }).format(new Date(nowMs));
  try {
    return parts(timeZone || "UTC");
  } catch {
    return parts("UTC");
  }
}

/** A value for every placeholder (values_for in node/protocol/placeholders.py). */
export function placeholderValues({ profile, businessAddress, customer, agent, order, nowMs = Date.now() }) {
  const businessName = String(profile?.name || displayName(businessAddress));
  const values = {
    business_name: businessName, business_address: businessAddress,
    business_phone: String(profile?.phone || ""), business_website: String(profile?.website || ""),
    customer_address: customer, customer_name: displayName(customer),
    agent_name: agent ? displayName(agent) : businessName,
    order_id: "", order_total: "", date: localDate(nowMs, profile?.timezone),
  };
  if (order) {
    values.order_id = String(order.order_id ?? "");
    if (Number.isSafeInteger(order.total_minor) && typeof order.currency === "string") values.order_total = formatAmount(order.total_minor, order.currency);
  }
  return values;
}

export class Shop {
  constructor(inbox) {
    this.inbox = inbox;
    this.quickReplies = [];
    this.products = new Map();
    this.profile = {};
    this.orders = [];
  }

  api(method, path, body) {
    return this.inbox.api(method, path, body);
  }

  async load() {
    const [replies, products, profile] = await Promise.all([
      this.api("GET", "/quick-replies"), this.api("GET", "/products"), this.api("GET", "/profile").catch(() => ({})),
    ]);
    this.quickReplies = replies.quick_replies;
    this.products = new Map(products.products.map((p) => [p.sku, p]));
    this.profile = profile.profile ?? profile;
  }

  /** Products a card may show (not discontinued). */
  offered() {
    return [...this.products.values()].filter((p) => p.availability !== "discontinued");
  }

  async loadOrders(customer) {
    this.orders = (await this.api("GET", `/conversations/${q(customer)}/orders`)).orders;
  }

  order(orderId) {
    return this.orders.find((o) => o.order_id === orderId) ?? null;
  }

  /** Quick replies whose shortcut starts with what follows the `/`, each filled in. */
  matching(typed, customer) {
    const prefix = typed.slice(1).toLowerCase();
    const latest = [...this.orders].sort((a, b) => a.created_ms - b.created_ms).at(-1) ?? null;
    const values = placeholderValues({ profile: this.profile, businessAddress: this.inbox.business, customer, agent: this.inbox.client.address, order: latest });
    return this.quickReplies
      .filter((r) => r.shortcut.slice(1).toLowerCase().startsWith(prefix))
      .map((r) => ({ shortcut: r.shortcut, text: expandQuickReply(r.text, values) }));
  }

  /** Record a customer's order on the node (another team device may have done it). */
  async record(message) {
    if (this.order(message.content.order_id)) return;
    const order = await this.inbox.client.recordOrder(message); // finds another device's record
    if (!this.order(order.order_id)) this.orders.push(order);
  }

  async setStatus(customer, orderId, status) {
    await this.inbox.client.sendOrderStatus(customer, orderId, status);
    await this.loadOrders(customer);
  }
}
