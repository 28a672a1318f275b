// The device's store in the browser: IndexedDB, every secret sealed.
//
// Element Web's pattern: a random 32-byte data key seals each secret value
// (XChaCha20-Poly1305, bound to its object store and key as associated data, so values
// cannot be swapped); the data key itself is kept only wrapped by a non-extractable
// AES-GCM CryptoKey, which IndexedDB stores as an opaque object. Nothing readable as key
// material lies in storage: reading it needs this origin's WebCrypto handle.
import { sodium } from "./crypto/sodium.js";
import { concat, fromUtf8, randomBytes, utf8 } from "./crypto/bytes.js";
import { DeviceRevoked, StoreError } from "./errors.js";

const VERSION = 2; // 2: history_queue
export const STORES = ["meta", "kv", "prekeys", "sessions", "devices", "messages", "inbox", "handshakes", "history_queue"];
const NONCE = 24;

function request(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
}

function done(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error ?? new StoreError("IndexedDB transaction aborted"));
  });
}

function openDb(name) {
  const req = indexedDB.open(name, VERSION);
  req.onupgradeneeded = () => {
    const db = req.result;
    for (const store of STORES) {
      if (db.objectStoreNames.contains(store)) continue;
      const os = db.createObjectStore(store, store === "inbox" ? { autoIncrement: true } : undefined);
      if (store === "messages") os.createIndex("peer", "peer");
      if (store === "history_queue") os.createIndex("seq", "seq"); // (plain {seq}: ids are no secret)
    }
  };
  return request(req);
}

async function dataKey(db, name) {
  const tx = db.transaction("meta", "readonly");
  const [wrap, wrapped] = await Promise.all([request(tx.objectStore("meta").get("wrap")), request(tx.objectStore("meta").get("datakey"))]);
  const ad = utf8(`kontor-store-v1:${name}`);
  if (wrap && wrapped) {
    try {
      return new Uint8Array(await crypto.subtle.decrypt({ name: "AES-GCM", iv: wrapped.iv, additionalData: ad }, wrap, wrapped.ct));
    } catch {
      throw new StoreError("this browser's store key cannot open the store (damaged or foreign)");
    }
  }
  const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
  const raw = randomBytes(32);
  const iv = randomBytes(12);
  const ct = new Uint8Array(await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: ad }, key, raw));
  const write = db.transaction("meta", "readwrite");
  write.objectStore("meta").put(key, "wrap");
  write.objectStore("meta").put({ iv, ct }, "datakey");
  await done(write);
  return raw;
}

/** A sealed IndexedDB store for one device. Use `Store.open(name)`. */
export class Store {
  constructor(db, name, key) {
    Object.assign(this, { idb: db, name, key, wiped: false });
    // Another tab deleted the database (this device was revoked there): let it go.
    db.onversionchange = (e) => {
      db.close();
      if (e.newVersion === null) this.wiped = true;
      else this.idb = null;
    };
  }

  /** The open database; DeviceRevoked once the store is wiped. */
  get db() {
    if (this.wiped) throw new DeviceRevoked("this device was revoked and its local store wiped; log in again for a new device");
    if (!this.idb) throw new StoreError("the store was upgraded by a newer page; reload this one");
    return this.idb;
  }

  /** Open (or create) the store called `name` in this origin's IndexedDB. */
  static async open(name = "default") {
    if (typeof indexedDB === "undefined") throw new StoreError("this browser has no IndexedDB (a private window or a cross-site frame?)");
    const dbName = `kontor:${name}`;
    const db = await openDb(dbName);
    if (navigator.storage?.persist) navigator.storage.persist().catch(() => false);
    return new Store(db, dbName, await dataKey(db, dbName));
  }

  /** Whether a store called `name` holds a device. */
  static async exists(name = "default") {
    if (!indexedDB.databases) return false;
    return (await indexedDB.databases()).some((d) => d.name === `kontor:${name}`);
  }

  static async destroy(name = "default") {
    await request(indexedDB.deleteDatabase(`kontor:${name}`));
  }

  close() {
    this.idb?.close();
  }

  /** Delete this store (every key, session and message) and refuse every later use. */
  async wipe() {
    if (this.wiped) return;
    this.wiped = true;
    this.idb?.close();
    this.key.fill(0);
    await request(indexedDB.deleteDatabase(this.name));
  }

  seal(store, key, bytes) {
    const nonce = randomBytes(NONCE);
    return concat(nonce, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(bytes, utf8(`${store}\0${key}`), null, nonce, this.key));
  }

  unseal(store, key, sealed) {
    try {
      return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(NONCE), utf8(`${store}\0${key}`), sealed.subarray(0, NONCE), this.key);
    } catch {
      throw new StoreError(`a value in ${store} does not open (damaged, moved or foreign)`);
    }
  }

  /** The unsealed bytes under `key` in `store` (sealed records: {sealed, ...plain}). */
  async get(store, key) {
    const record = await request(this.db.transaction(store, "readonly").objectStore(store).get(key));
    return record === undefined ? null : this.open(store, key, record);
  }

  open(store, key, record) {
    return record.sealed ? { ...record, value: this.unseal(store, key, record.sealed) } : record;
  }

  async getBytes(store, key) {
    const record = await this.get(store, key);
    return record ? record.value : null;
  }

  async getJson(store, key) {
    const bytes = await this.getBytes(store, key);
    return bytes ? JSON.parse(fromUtf8(bytes)) : null;
  }

  /** Every record of a store (or of an index value), unsealed, with its key. */
  async all(store, index = undefined, value = undefined) {
    const os = this.db.transaction(store, "readonly").objectStore(store);
    const source = index ? os.index(index) : os;
    const range = value === undefined ? undefined : IDBKeyRange.only(value);
    // (an index's getAllKeys gives the primary keys, in the order of its getAll)
    const [keys, records] = await Promise.all([request(source.getAllKeys(range)), request(source.getAll(range))]);
    return records.map((r, i) => ({ key: keys[i], ...this.open(store, keys[i], r) }));
  }

  /** The keys of a store: all, those of an index value, or those starting with `prefix`. */
  async keys(store, index = undefined, value = undefined, prefix = undefined) {
    const os = this.db.transaction(store, "readonly").objectStore(store);
    const source = index ? os.index(index) : os;
    let range;
    if (value !== undefined) range = IDBKeyRange.only(value);
    else if (prefix !== undefined) range = IDBKeyRange.bound(prefix, prefix + "\uffff");
    return request(source.getAllKeys(range));
  }

  /** How many records a store holds. */
  count(store) {
    return request(this.db.transaction(store, "readonly").objectStore(store).count());
  }

  /** The keys of the first `count` records of `store` in the order of its `index`. */
  firstKeys(store, index, count) {
    return request(this.db.transaction(store, "readonly").objectStore(store).index(index).getAllKeys(undefined, count));
  }

  /** A record for `put`: the value sealed, `plain` fields kept readable (public data). */
  record(store, key, bytes, plain = {}) {
    return { ...plain, sealed: this.seal(store, key, bytes) };
  }

  jsonRecord(store, key, value, plain = {}) {
    return this.record(store, key, utf8(JSON.stringify(value)), plain);
  }

  /** Apply [op, store, key, record] writes in one transaction: "put", "mark", "add" (a
   * plain record, unless the key is there already) or "delete". */
  async write(ops) {
    if (!ops.length) return;
    const stores = [...new Set(ops.map((op) => op[1]))];
    const tx = this.db.transaction(stores, "readwrite", { durability: "strict" });
    for (const [op, store, key, record] of ops) {
      const os = tx.objectStore(store);
      if (op === "put") {
        if (store === "inbox") os.add(record);
        else os.put(record, key);
      } else if (op === "add") {
        const get = os.getKey(key);
        get.onsuccess = () => {
          if (get.result === undefined) os.put(record, key);
        };
      } else if (op === "mark") {
        const get = os.get(key);
        get.onsuccess = () => {
          if (get.result) os.put({ ...get.result, [record]: true }, key);
        };
      } else {
        os.delete(key);
      }
    }
    await done(tx);
  }

  /** The oldest inbox entry (messages not yet handed to the app), removed; or null. */
  async takeInbox() {
    const tx = this.db.transaction("inbox", "readwrite", { durability: "strict" });
    const os = tx.objectStore("inbox");
    const cursor = await request(os.openCursor());
    let item = null;
    if (cursor) {
      item = JSON.parse(fromUtf8(this.unseal("inbox", "item", cursor.value.sealed)));
      cursor.delete();
    }
    await done(tx);
    return item;
  }
}

/** Batches reads and writes: reads see earlier writes of the batch; `commit` writes all. */
export class Batch {
  constructor(store) {
    this.store = store;
    this.pending = new Map();
    this.added = new Set();
    this.ops = [];
  }

  async getBytes(storeName, key) {
    const id = `${storeName}\0${key}`;
    if (this.pending.has(id)) return this.pending.get(id);
    return this.store.getBytes(storeName, key);
  }

  async getJson(storeName, key) {
    const bytes = await this.getBytes(storeName, key);
    return bytes ? JSON.parse(fromUtf8(bytes)) : null;
  }

  put(storeName, key, bytes, plain = {}) {
    if (storeName !== "inbox") this.pending.set(`${storeName}\0${key}`, bytes);
    this.ops.push(["put", storeName, key, this.store.record(storeName, key, bytes, plain)]);
  }

  putJson(storeName, key, value, plain = {}) {
    this.put(storeName, key, utf8(JSON.stringify(value)), plain);
  }

  /** Store a plain (unsealed) record under `key`, unless one is there already (or was
   * added in this batch: each op looks before any of them writes). */
  add(storeName, key, plain) {
    const id = `${storeName}\0${key}`;
    if (this.added.has(id)) return;
    this.added.add(id);
    this.ops.push(["add", storeName, key, plain]);
  }

  /** Set a readable flag (delivered, read) on a stored message, if it is stored. */
  mark(messageId, flag) {
    this.ops.push(["mark", "messages", messageId, flag]);
  }

  delete(storeName, key) {
    this.pending.set(`${storeName}\0${key}`, null);
    this.ops.push(["delete", storeName, key]);
  }

  commit() {
    return this.store.write(this.ops);
  }
}
