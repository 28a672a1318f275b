// The SDK's Client: one device of one account, doing all the cryptography in the page
// (node/client/client.py, the same protocol and rules). Keys, sessions and messages live
// in IndexedDB, sealed (store.js); every step that reads and writes ratchet state runs
// under a Web Lock, so two tabs of one device never interleave on a session.
// The parts of a Client live in their own modules and are mixed in below: prekeys.js,
// sending.js, devices.js, media.js, commerce.js; receiving is receive.js's Receiver.
import { ready } from "./crypto/sodium.js";
import { DeviceIdentity } from "./crypto/identity.js";
import { ClientError, DeviceRevoked } from "./errors.js";
import { withLock } from "./locks.js";
import { Archive } from "./archive.js";
import { Commerce } from "./commerce.js";
import { Devices } from "./devices.js";
import { Media } from "./media.js";
import { mixin, sessionKey } from "./names.js";
import { Prekeys, PREKEY_BATCH, PREKEY_LOW_WATER } from "./prekeys.js";
import { Message, Receipt, Receiver } from "./receive.js";
import { Sending } from "./sending.js";
import { Batch, Store } from "./store.js";
import { Team } from "./team.js";
import { Transport } from "./transport.js";

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
    /** History on new devices (archive.js): approve, pendingDevices, download, keys. */
    this.archive = new Archive(this);
    /** Called with the DeviceRevoked error once this device's store is wiped. */
    this.onRevoked = null;
    transport.onRevoked = () => this.revoked();
  }

  /** Whether the node revoked this device and its store was wiped. */
  get wiped() {
    return this.store.wiped;
  }

  /** The node says DEVICE_REVOKED (any answer, the socket, or at `open`): wipe the store
   * (keys, sessions, messages) before the app sees DeviceRevoked. A copy of the store
   * taken before cannot be wiped from here. */
  async revoked() {
    if (this.store.wiped) return;
    this.receiver.close();
    await this.store.wipe();
    if (this.onRevoked) this.onRevoked(new DeviceRevoked());
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
    // The first device of an owner starts its history (the team's: an admin's device).
    await client.archive.start().catch((err) => {
      if (!(err instanceof ClientError) || err instanceof DeviceRevoked) throw err;
    });
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

  /**
   * Tell the sender's devices (end to end) that this message was read; on a team device
   * the receipt goes out as the business and the team's read state moves on the node.
   */
  async markRead(message) {
    await this.store.write([["mark", "messages", message.messageId, "read"]]);
    if (message.outgoing) return;
    await this.send(message.peer, { type: "receipt", receipt: "read", message_ids: [message.messageId] }, { remember: false });
    if (this.speaksAs !== this.address && message.to === this.speaksAs) await this.teamMarkRead(message.peer, message.messageId);
  }

  /** Peers with their last activity, message count and unread count, newest first. */
  async conversations() {
    const byPeer = new Map();
    for (const r of await this.store.all("messages")) {
      const c = byPeer.get(r.peer) ?? { peer: r.peer, lastTs: 0, messages: 0, unread: 0 };
      c.lastTs = Math.max(c.lastTs, r.ts);
      c.messages++;
      if (!r.outgoing && !r.read) c.unread++;
      byPeer.set(r.peer, c);
    }
    return [...byPeer.values()].sort((a, b) => b.lastTs - a.lastTs);
  }

  /**
   * A page of the conversation with `peer`, newest first page by page: up to `limit`
   * (1..200) messages before the cursor `before` (null: the newest), oldest first, and
   * `next`, the cursor of the page before it (null at the conversation's start). Where
   * the local store has nothing older, an approved device reads the node's sealed copies
   * of that conversation (and keeps them).
   */
  historyPage(peer, { before = null, limit = 50 } = {}) {
    return this.archive.reader.page(peer, before, limit);
  }

  /** The stored messages with `peer`, oldest first (at most `limit`, the newest). */
  async history(peer, limit = 50) {
    const rows = await this.store.all("messages", "peer", peer);
    return rows.map((r) => Message.fromRecord(r)).sort((a, b) => a.ts - b.ts).slice(-limit);
  }

}

mixin(Client, Prekeys, Sending, Devices, Media, Commerce, Team);

export { Message, Receipt, sessionKey, PREKEY_BATCH, PREKEY_LOW_WATER };
