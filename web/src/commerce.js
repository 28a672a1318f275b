// The Client's business side (node/client/business.py): signed profiles and catalogs,
// checked, their node key pinned on first use, and "verified" when the signing key is
// pinned in the business's DNS (looked up by the device's node); products and orders
// (the team's calls are in team.js).
import { b64encode, equal, hex, randomBytes, utf8 } from "./crypto/bytes.js";
import { keyFingerprint } from "./crypto/fingerprint.js";
import { ApiError, Unauthorized, VerificationError } from "./errors.js";
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
    const [verified, why] = await this.dnsPinned(server, checked);
    await this.pinNodeKey(server, checked, verified);
    return {
      serverName: server, document: checked.document, keyId: checked.keyId, verified, why,
      get: (field) => checked.document[field],
    };
  }

  /**
   * [verified, why]: whether the key that signed the document is pinned in the DNS of
   * `server` (`_kontor-key` TXT). A browser cannot query DNS: its own node looks the pin
   * up (GET /keypins/{server}) and the browser compares it with the signing key itself;
   * so the node is trusted for the pin, as it is for the page's code (docs/web.md).
   */
  async dnsPinned(server, checked) {
    let answer;
    try {
      answer = await this.transport.request("GET", `/keypins/${encodeURIComponent(server)}`);
    } catch (err) {
      if (!(err instanceof ApiError) || err instanceof Unauthorized) throw err;
      return [false, `DNS lookup of the key pin failed (asked through your node): ${err.reason}`];
    }
    const pins = Array.isArray(answer?.pins) ? answer.pins.filter((p) => typeof p === "string") : [];
    if (answer?.server_name !== server) return [false, "your node answered the key pin of another server"];
    if (!pins.length) return [false, `${server} publishes no key pin in DNS`];
    const fingerprint = utf8(keyFingerprint(checked.publicKey));
    let matched = false;
    for (const pin of pins) matched = equal(utf8(pin), fingerprint) || matched; // every pin compared
    if (!matched) return [false, `the key pinned in the DNS of ${server} is another one`];
    return [true, `signed by ${checked.keyId}, pinned in the DNS of ${server} (looked up by your node)`];
  }

  /** Pin a business node's key on first use; a key change must be announced by the old
   * key's document, or be the key the business's DNS pins (`dnsPinned`). */
  async pinNodeKey(server, checked, dnsPinned = false) {
    await withLock(this.lockName, async () => {
      const pins = (await this.store.getJson("kv", "node_pins")) ?? {};
      const pin = pins[server];
      const key = b64encode(checked.publicKey);
      if (pin && pin.key !== key && !checked.keyIds.includes(pin.key_id) && !dnsPinned) {
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
