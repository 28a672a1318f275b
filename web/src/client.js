// The SDK's Client: one device of one account, doing all the cryptography in the page
// (node/client/client.py, the same protocol and rules). Keys, sessions and messages live
// in IndexedDB, sealed (store.js); every step that reads and writes ratchet state runs
// under a Web Lock, so two tabs of one device never interleave on a session.
import { ready } from "./crypto/sodium.js";
import { b64decode, b64encode, equal, hex, randomBytes } from "./crypto/bytes.js";
import { CryptoError } from "./crypto/errors.js";
import { safetyNumber } from "./crypto/fingerprint.js";
import { DeviceIdentity, deviceKeysDocument, makeOneTimePrekey, makeSignedPrekey } from "./crypto/identity.js";
import { MediaDecryptor, MediaEncryptor, MediaKey } from "./crypto/media.js";
import { Session } from "./crypto/session.js";
import { verifyBundle, verifyDeviceKeys } from "./crypto/verify.js";
import { encode, expandQuickReply } from "./content.js";
import { ApiError, ClientError, ContentError, DeliveryError, VerificationError } from "./errors.js";
import { checkBusinessDocument } from "./business.js";
import { withLock } from "./locks.js";
import { Message, Receipt, Receiver } from "./receive.js";
import { Batch, Store } from "./store.js";
import { Transport } from "./transport.js";

export const PREKEY_BATCH = 50;
export const PREKEY_LOW_WATER = 20;
const SIGNED_PREKEY_MAX_AGE_MS = 7 * 24 * 3600 * 1000;
const SEND_ATTEMPTS = 4;
const MAX_MEDIA = 2 * 1024 * 1024 * 1024;
const DEVICE_LIST_TTL_MS = 60_000;
const READ_SIZE = 256 * 1024;

const sessionKey = (address, deviceId) => `${address}\0${deviceId}`;
const serverOf = (address) => address.slice(address.indexOf("@") + 1);

/** One device of one account. Create with `register`, `login` or `open`. */
export class Client {
  constructor(transport, store, identity, account, storeName) {
    this.transport = transport;
    this.store = store;
    this.identity = identity;
    this.address = account.address;
    this.deviceId = account.device_id;
    this.role = account.role ?? "customer";
    this.business = account.business ?? "";
    this.speaksAs = account.speaks_as ?? this.address;
    this.lockName = `kontor:${storeName}`;
    this.deviceLists = new Map();
    this.sending = Promise.resolve();
    this.receiver = new Receiver(this);
  }

  /** Create an account (open or invite registration) and this browser's device. */
  static async register(nodeUrl, username, password, { deviceName = "kontor-web", invite = null, store = "default" } = {}) {
    await ready();
    const transport = new Transport(nodeUrl || location.origin);
    const session = await transport.register(username, password, invite, deviceName);
    return Client.newDevice(transport, session, store);
  }

  /** Log in a new device of an existing account; it gets fresh keys. */
  static async login(nodeUrl, username, password, { deviceName = "kontor-web", store = "default" } = {}) {
    await ready();
    const transport = new Transport(nodeUrl || location.origin);
    const session = await transport.login(username, password, deviceName);
    return Client.newDevice(transport, session, store);
  }

  /** Reopen this browser's device (no password: its token is in the sealed store). */
  static async open({ store = "default" } = {}) {
    await ready();
    const st = await Store.open(store);
    const account = await st.getJson("kv", "account");
    const identity = await st.getBytes("kv", "identity");
    if (!account || !identity) {
      st.close();
      throw new ClientError("this browser holds no Kontor device; register or log in first");
    }
    const client = new Client(new Transport(account.base_url, account.access_token), st, DeviceIdentity.fromBytes(identity), account, store);
    try {
      await client.refreshAccount();
    } catch (err) {
      if (!(err instanceof TypeError)) throw err; // offline: keep what is stored
    }
    return client;
  }

  /** Whether this browser holds a device in `store`. */
  static async exists({ store = "default" } = {}) {
    if (!(await Store.exists(store))) return false;
    await ready();
    const st = await Store.open(store);
    try {
      return (await st.getJson("kv", "account")) !== null;
    } finally {
      st.close();
    }
  }

  static async newDevice(transport, session, storeName) {
    transport.token = session.access_token;
    const st = await Store.open(storeName);
    if (await st.getJson("kv", "account")) {
      st.close();
      throw new ClientError(`this browser already holds a device in store ${JSON.stringify(storeName)}; use Client.open(), or another store`);
    }
    const identity = DeviceIdentity.generate();
    const account = { ...session, base_url: transport.baseUrl };
    const batch = new Batch(st);
    batch.put("kv", "identity", identity.toBytes());
    batch.putJson("kv", "account", account);
    await batch.commit();
    const client = new Client(transport, st, identity, account, storeName);
    await client.refreshAccount();
    await client.uploadInitialKeys();
    return client;
  }

  async refreshAccount() {
    const info = await this.transport.account();
    this.role = info.role;
    this.business = info.business ?? "";
    this.speaksAs = info.speaks_as ?? this.address;
    await withLock(this.lockName, async () => {
      const account = (await this.store.getJson("kv", "account")) ?? {};
      Object.assign(account, { role: this.role, business: this.business, speaks_as: this.speaksAs });
      await this.store.write([["put", "kv", "account", this.store.jsonRecord("kv", "account", account)]]);
    });
  }

  /** Stop receiving and close the store. */
  close() {
    this.receiver.close();
    this.store.close();
  }

  /** End this device on the node (its keys and queue are dropped there). */
  async logout() {
    await this.transport.logout();
  }

  // ----- keys ------------------------------------------------------------------------

  /** New prekeys, their private halves stored before they are uploaded. */
  async newPrekeys(oneTime, signed) {
    return withLock(this.lockName, async () => {
      const batch = new Batch(this.store);
      let counter = (await batch.getJson("kv", "key_counter")) ?? 0;
      const out = { one_time_prekeys: [] };
      const now = Date.now();
      if (signed) {
        const keyId = `s${++counter}`;
        const [key, doc] = makeSignedPrekey(this.identity, keyId);
        batch.put("prekeys", keyId, key.private, { kind: "spk", created_ms: now });
        batch.putJson("kv", "signed_prekey", { key_id: keyId, created_ms: now });
        out.signed_prekey = doc;
      }
      for (let i = 0; i < oneTime; i++) {
        const keyId = `o${++counter}`;
        const [key, doc] = makeOneTimePrekey(this.identity, keyId);
        batch.put("prekeys", keyId, key.private, { kind: "otk", created_ms: now });
        out.one_time_prekeys.push(doc);
      }
      batch.putJson("kv", "key_counter", counter);
      await batch.commit();
      if (!out.one_time_prekeys.length) delete out.one_time_prekeys;
      return out;
    });
  }

  async uploadInitialKeys() {
    const body = await this.newPrekeys(PREKEY_BATCH, true);
    body.device_keys = deviceKeysDocument(this.identity, this.address, this.deviceId);
    await this.transport.uploadKeys(body);
  }

  /** Upload one-time prekeys when few are left and rotate an old signed prekey. */
  async topUpPrekeys() {
    let count = await this.transport.prekeyCount();
    const current = (await this.store.getJson("kv", "signed_prekey")) ?? {};
    const rotate = Date.now() - (current.created_ms ?? 0) > SIGNED_PREKEY_MAX_AGE_MS;
    const oneTime = count < PREKEY_LOW_WATER ? PREKEY_BATCH : 0;
    if (!oneTime && !rotate) return count;
    const body = await this.newPrekeys(oneTime, rotate);
    count = await this.transport.uploadKeys(body);
    if (rotate) await this.forgetOldSignedPrekeys(current.key_id);
    return count;
  }

  async forgetOldSignedPrekeys(keep) {
    const current = (await this.store.getJson("kv", "signed_prekey"))?.key_id;
    const old = (await this.store.all("prekeys")).filter((r) => r.kind === "spk" && r.key !== current && r.key !== keep);
    await this.store.write(old.map((r) => ["delete", "prekeys", r.key]));
  }

  // ----- sending ---------------------------------------------------------------------

  /** Send a text message to an account (a person or a business). */
  sendText(to, text, extra = {}) {
    return this.send(to, { type: "text", body: text, ...extra });
  }

  /** Encrypt `content` for every device that must get it and send it; the Message. */
  send(to, content, { remember = true } = {}) {
    const run = this.sending.then(() => this.sendNow(to, content, remember));
    this.sending = run.catch(() => undefined); // one send at a time, in order
    return run;
  }

  async sendNow(to, content, remember) {
    const sender = await this.senderFor(to);
    content = { ...content, from: sender, to };
    const plaintext = encode(content);
    const txnId = "t" + b64encode(randomBytes(16));
    const answer = await this.sendWithRetries(txnId, sender, to, plaintext);
    const message = new Message(answer.message_id, sender, this.deviceId, to, to, answer.ts, content, true);
    if (remember) await this.store.write([["put", "messages", message.messageId, message.record(this.store)]]);
    return message;
  }

  /** The padded plaintext of a content object (for tests and tools). */
  encodeContent(content) {
    return encode(content);
  }

  /** A team member speaks as the business to everyone outside the team. */
  async senderFor(to) {
    if (this.speaksAs === this.address || to === this.speaksAs) return this.address;
    const team = new Set((await this.deviceEntries(this.speaksAs)).map((e) => e.account));
    return team.has(to) ? this.address : this.speaksAs;
  }

  async sendWithRetries(txnId, sender, to, plaintext) {
    let targets = await this.targets(sender, to);
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      const fresh = await this.claimMissing(targets);
      const envelopes = await withLock(this.lockName, () => this.encryptAndPersist(targets, fresh, plaintext));
      try {
        return await this.transport.send(txnId, sender, to, envelopes);
      } catch (err) {
        if (!(err instanceof ApiError) || err.code !== "DEVICE_MISMATCH") throw err;
        targets = this.applyMismatch(targets, err.details);
      }
    }
    throw new DeliveryError(`the devices of ${to} kept changing; try again`);
  }

  /** Map address -> Set of device ids the message must be encrypted for. */
  async targets(sender, to) {
    const targets = new Map();
    for (const address of new Set([to, sender])) {
      const devices = new Set((await this.deviceEntries(address)).map((d) => d.device_id));
      devices.delete(this.deviceId);
      if (devices.size) targets.set(address, devices);
    }
    if (to !== sender && targets.has(to) && targets.has(sender)) for (const d of targets.get(to)) targets.get(sender).delete(d);
    for (const [a, d] of targets) if (!d.size) targets.delete(a);
    return targets;
  }

  /** The device list of `address`, cached for a minute (a 409 corrects a stale one). */
  async deviceEntries(address) {
    const cached = this.deviceLists.get(address);
    if (cached && Date.now() - cached[0] < DEVICE_LIST_TTL_MS) return cached[1];
    const entries = await this.transport.devices(address);
    this.deviceLists.set(address, [Date.now(), entries]);
    return entries;
  }

  applyMismatch(targets, details) {
    const extra = details.extra ?? {};
    const missing = details.missing ?? {};
    for (const address of new Set([...Object.keys(extra), ...Object.keys(missing)])) this.deviceLists.delete(address);
    const out = new Map([...targets].map(([a, d]) => [a, new Set(d)]));
    for (const [address, ids] of Object.entries(extra)) for (const id of ids) out.get(address)?.delete(id);
    for (const [address, ids] of Object.entries(missing)) {
      if (!out.has(address)) out.set(address, new Set());
      for (const id of ids) out.get(address).add(id);
    }
    for (const [a, d] of out) if (!d.size) out.delete(a);
    return out;
  }

  /** New sessions (X3DH over claimed bundles) for target devices that have none. */
  async claimMissing(targets) {
    const fresh = new Map();
    for (const [address, deviceIds] of targets) {
      const need = [];
      for (const d of [...deviceIds].sort()) if ((await this.store.getBytes("sessions", sessionKey(address, d))) === null) need.push(d);
      if (!need.length) continue;
      for (const entry of await this.transport.claim(address, need)) {
        const { account, ...bundleDoc } = entry;
        let bundle;
        try {
          bundle = verifyBundle(bundleDoc, this.keysOwner(address, entry));
        } catch (err) {
          if (err instanceof CryptoError) throw new VerificationError(`${address} device ${entry.device_id}: bad keys (${err.message})`);
          throw err;
        }
        await this.trustOnFirstUse(address, entry.device_id, bundle.device);
        fresh.set(sessionKey(address, entry.device_id), Session.initiate(this.identity, bundle));
      }
    }
    return fresh;
  }

  /** Encrypt for every target device and store the advanced sessions in one transaction. */
  async encryptAndPersist(targets, fresh, plaintext) {
    const envelopes = {};
    const batch = new Batch(this.store);
    for (const [address, deviceIds] of targets) {
      for (const deviceId of [...deviceIds].sort()) {
        const key = sessionKey(address, deviceId);
        const state = await batch.getBytes("sessions", key);
        const session = state ? Session.fromBytes(state) : fresh.get(key);
        if (!session) continue; // the device has no keys any more; a 409 will say
        (envelopes[address] ??= {})[deviceId] = b64encode(session.encrypt(plaintext));
        batch.put("sessions", key, session.toBytes());
      }
    }
    await batch.commit();
    return envelopes;
  }

  /** Whose keys a listed device holds: a team member's, for a business address. */
  keysOwner(address, entry) {
    const owner = entry.account ?? address;
    if (typeof owner !== "string" || serverOf(owner) !== serverOf(address)) throw new VerificationError(`a device listed for ${address} belongs to another server`);
    return owner;
  }

  /** Pin a device's two identity keys on first sight; refuse it when they change. */
  async trustOnFirstUse(address, deviceId, keys) {
    const pinned = b64encode(new Uint8Array([...keys.signingKey, ...keys.identityKey]));
    const id = sessionKey(address, deviceId);
    const known = await this.store.get("devices", id);
    if (known) {
      if (known.identity_key !== pinned) throw new VerificationError(`the identity key of ${address} device ${deviceId} changed; refusing it (the device must log in anew)`);
      return;
    }
    await this.store.write([["put", "devices", id, { identity_key: pinned, verified: false, first_seen_ms: Date.now() }]]);
  }

  /** [Ed25519, X25519] pinned for a device, or null. */
  async pinned(address, deviceId) {
    const known = await this.store.get("devices", sessionKey(address, deviceId));
    if (!known) return null;
    const both = b64decode(known.identity_key);
    if (both.length !== 64) throw new VerificationError(`damaged key record for ${address}/${deviceId}`);
    return [both.slice(0, 32), both.slice(32)];
  }

  /** The device's pinned identity keys, fetched and pinned on first sight. */
  async learnDevice(address, deviceId) {
    const pinned = await this.pinned(address, deviceId);
    if (pinned) return pinned;
    for (const entry of await this.transport.devices(address)) {
      if (entry.device_id !== deviceId) continue;
      const keys = verifyDeviceKeys(entry.device_keys, this.keysOwner(address, entry), deviceId);
      await this.trustOnFirstUse(address, deviceId, keys);
      return [keys.signingKey, keys.identityKey];
    }
    throw new VerificationError(`${address} has no device ${deviceId}`);
  }

  // ----- receiving (receive.js) ------------------------------------------------------

  /** Messages and receipts as they arrive, forever (WebSocket, else long-poll). */
  events(options = {}) {
    return this.receiver.events(options);
  }

  /** Only the messages: `for await (const m of client.messages())`. */
  async *messages(options = {}) {
    for await (const item of this.events(options)) if (item instanceof Message) yield item;
  }

  /** Fetch what is waiting once (waiting up to `timeoutMs`), store, ack; the items. */
  syncOnce(timeoutMs = 0) {
    return this.receiver.syncOnce(timeoutMs);
  }

  /** Tell the sender's devices (end to end) that this message was read. */
  async markRead(message) {
    await this.store.write([["mark", "messages", message.messageId, "read"]]);
    if (!message.outgoing) await this.send(message.peer, { type: "receipt", receipt: "read", message_ids: [message.messageId] }, { remember: false });
  }

  /** The stored messages with `peer`, oldest first (at most `limit`, the newest). */
  async history(peer, limit = 50) {
    const rows = await this.store.all("messages", "peer", peer);
    return rows.map((r) => Message.fromRecord(r)).sort((a, b) => a.ts - b.ts).slice(-limit);
  }

  // ----- media -----------------------------------------------------------------------

  /** Encrypt a Blob or File (read in 256 KiB slices), upload it, send its key. */
  async sendMediaFile(to, file, { name = undefined, mime = undefined, caption = "" } = {}) {
    if (file.size > MAX_MEDIA) throw new ContentError("media is limited to 2 GiB");
    const enc = new MediaEncryptor();
    const parts = [];
    for (let offset = 0; offset < file.size; offset += READ_SIZE) {
      const piece = new Uint8Array(await file.slice(offset, offset + READ_SIZE).arrayBuffer());
      parts.push(new Blob(enc.push(piece)));
    }
    parts.push(new Blob(enc.finish()));
    const uploaded = await this.transport.uploadMedia(new Blob(parts, { type: "application/octet-stream" }));
    const key = enc.mediaKey();
    if (uploaded.media_id !== key.mediaId) throw new VerificationError("the node stored the media under another hash");
    return this.send(to, {
      type: "media", media_id: uploaded.media_id, server: serverOf(this.address), ...key.toJSON(),
      name: name ?? file.name ?? "", mime: mime ?? (file.type || "application/octet-stream"), caption,
    });
  }

  /** Like sendMediaFile for bytes. */
  sendMedia(to, data, options = {}) {
    return this.sendMediaFile(to, new Blob([data]), options);
  }

  /** [MediaKey, server to fetch from or null] of a media message. */
  mediaKey(message) {
    const c = message.content;
    if (message.type !== "media") throw new ContentError("this message carries no media");
    let key;
    try {
      key = MediaKey.fromJSON({ alg: c.alg, key: c.key, sha256: c.sha256, size: c.size });
    } catch (err) {
      if (err instanceof CryptoError) throw new ContentError(`bad media reference: ${err.message}`);
      throw err;
    }
    if (key.mediaId !== c.media_id) throw new VerificationError("the media id does not match the media's hash");
    const server = c.server ?? serverOf(message.sender);
    if (server !== serverOf(message.sender)) throw new VerificationError("the media is not on its sender's server");
    return [key, server === serverOf(this.address) ? null : server];
  }

  /** Plaintext pieces of a message's media as they are downloaded and checked. */
  async *mediaChunks(message) {
    const [key, server] = this.mediaKey(message);
    const resp = await this.transport.downloadMedia(message.content.media_id, server);
    const reader = resp.body.getReader();
    const dec = new MediaDecryptor(key);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        yield* dec.update(value);
      }
      yield* dec.finish();
    } catch (err) {
      if (err instanceof CryptoError) throw new VerificationError(`media does not check: ${err.message}`);
      throw err;
    } finally {
      reader.releaseLock();
    }
  }

  /** The whole checked and decrypted media of a message, as a Blob. */
  async downloadMedia(message) {
    const parts = [];
    for await (const piece of this.mediaChunks(message)) parts.push(new Blob([piece]));
    return new Blob(parts, { type: message.content.mime || "application/octet-stream" });
  }

  // ----- business ---------------------------------------------------------------------

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

  /** (Team) Move an order to `status` on the business node and tell the customer. */
  async sendOrderStatus(customer, orderId, status) {
    await this.transport.request("PATCH", `/business/orders/${encodeURIComponent(orderId)}`, { status });
    return this.send(customer, { type: "order_status", order_id: orderId, status });
  }

  /** (Team) The business's quick replies: {shortcut: text with placeholders}. */
  async quickReplies() {
    const answer = await this.transport.request("GET", "/business/quick-replies");
    const items = Array.isArray(answer) ? answer : answer.quick_replies ?? [];
    return Object.fromEntries(items.map((q) => [q.shortcut, q.text]));
  }

  /** (Team) Send the quick reply `shortcut` with its placeholders filled in. */
  async sendQuickReply(to, shortcut, values = {}) {
    const replies = await this.quickReplies();
    if (!(shortcut in replies) && `/${shortcut}` in replies) shortcut = `/${shortcut}`;
    if (!(shortcut in replies)) throw new ClientError(`no quick reply ${JSON.stringify(shortcut)}; known: ${Object.keys(replies).join(", ")}`);
    return this.sendText(to, expandQuickReply(replies[shortcut], values));
  }

  // ----- verification ------------------------------------------------------------------

  /** {device id: safety number} of `address`'s devices with this device. */
  async safetyNumbers(address) {
    const out = {};
    for (const entry of await this.transport.devices(address)) {
      const keys = verifyDeviceKeys(entry.device_keys, this.keysOwner(address, entry), entry.device_id);
      await this.trustOnFirstUse(address, entry.device_id, keys);
      out[entry.device_id] = safetyNumber(this.address, this.identity.signing.publicKey, keys.address, keys.signingKey);
    }
    return out;
  }

  /** Mark the device verified when `number` matches; false otherwise. */
  async verify(address, deviceId, number) {
    const expected = (await this.safetyNumbers(address))[deviceId];
    const clean = (s) => new TextEncoder().encode(s.replaceAll(" ", ""));
    const ok = expected !== undefined && equal(clean(expected), clean(number));
    if (ok) {
      const id = sessionKey(address, deviceId);
      const known = await this.store.get("devices", id);
      await this.store.write([["put", "devices", id, { ...known, verified: true }]]);
    }
    return ok;
  }

  async isVerified(address, deviceId) {
    return Boolean((await this.store.get("devices", sessionKey(address, deviceId)))?.verified);
  }
}

export { Message, Receipt, sessionKey };
