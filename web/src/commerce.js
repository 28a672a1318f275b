// The Client's business side (node/client/business.py): signed profiles and catalogs,
// checked and their node key pinned; products and orders (the team's
// calls are in team.js).
import { b64encode, hex, randomBytes } from "./crypto/bytes.js";
import { VerificationError } from "./errors.js";
import { checkBusinessDocument } from "./business.js";
import { withLock } from "./locks.js";
import { serverOf } from "./names.js";

/** Mixed into Client: businesses and their documents, products and orders. */
export class Commerce {
  /** The signed profile of `business` (an address or server name), checked. */
  businessProfile(business) {
    return this.businessDocument(business, "profile");
  }

  /** The signed catalog of `business`, checked like the profile. */
  businessCatalog(business) {
    return this.businessDocument(business, "catalog");
  }

  async businessDocument(business, kind) {
    const server = business.includes("@") ? serverOf(business) : business;
    const answer = await this.transport.request("GET", `/directory/${encodeURIComponent(server)}/${kind}`);
    const checked = checkBusinessDocument(answer, server, kind);
    await this.pinNodeKey(server, checked);
    return {
      serverName: server, document: checked.document, keyId: checked.keyId, verified: false,
      why: `signed by ${checked.keyId} (pinned on first use in this browser; a browser cannot look up the DNS key pin)`,
      get: (field) => checked.document[field],
    };
  }

  /** Pin a business node's key on first use; a key change must be announced by the old key's document. */
  async pinNodeKey(server, checked) {
    await withLock(this.lockName, async () => {
      const pins = (await this.store.getJson("kv", "node_pins")) ?? {};
      const pin = pins[server];
      const key = b64encode(checked.publicKey);
      if (pin && pin.key !== key && !checked.keyIds.includes(pin.key_id)) {
        throw new VerificationError(`the node key of ${server} changed without its old key being listed; refusing the document`);
      }
      pins[server] = { key_id: checked.keyId, key };
      await this.store.write([["put", "kv", "node_pins", this.store.jsonRecord("kv", "node_pins", pins)]]);
    });
  }

  /** Share a product of a catalog (by default the business this device answers for). */
  sendProduct(to, sku, catalog = null) {
    const server = catalog ?? (this.speaksAs !== this.address ? this.speaksAs : to);
    return this.send(to, { type: "product", sku, catalog: server.includes("@") ? serverOf(server) : server });
  }

  /** Order [[sku, quantity], ...] from `business`. */
  sendOrder(business, items, { orderId = null, totalMinor = null, currency = null } = {}) {
    const content = { type: "order", order_id: orderId ?? "o" + hex(randomBytes(8)), items: items.map(([sku, quantity]) => ({ sku, quantity })) };
    if (totalMinor !== null) content.total_minor = totalMinor;
    if (currency !== null) content.currency = currency;
    return this.send(business, content);
  }
}
