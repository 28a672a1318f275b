// `client.archive`: history on every new device, end to end (node/client/history.py,
// docs/crypto.md §11, docs/protocol.md "History"). A device that holds its owner's
// current history key (the owner is the account, or the business for a team member's
// device) seals every message it sends or receives and stores the copy on its node,
// which sees only ciphertext. A new device is announced to the others (an ArchiveEvent
// `device_added`); one of them calls `approve(deviceId)`, which gives it every epoch's key
// over their pairwise ratchet session; the new device then downloads the history page by
// page, newest first (archivepages.js), and finds it in `client.history(peer)`.
// The network work (sealing and storing copies, starting the history, rotating its key
// after a device was removed) runs after each received batch and each send; what cannot
// be done now waits in the sealed store. Nothing here throws into the receive loop but
// DeviceRevoked.
import { b64decode, b64encode, utf8 } from "./crypto/bytes.js";
import { encodeCanonical, loadsStrict } from "./crypto/canonicaljson.js";
import { CryptoError } from "./crypto/errors.js";
import * as sealing from "./crypto/history.js";
import { sha256 } from "./crypto/keys.js";
import { Session } from "./crypto/session.js";
import { ApiError, ClientError, ContentError, DeviceRevoked } from "./errors.js";
import { withLock } from "./locks.js";
import { ArchiveEvent } from "./archiveevent.js";
import { Reader } from "./archivepages.js";
import { sessionKey } from "./names.js";
import { Batch } from "./store.js";

export const PENDING = "history_pending"; // (before history_queue: the ids waiting, as one list)
export const QUEUE = "history_queue"; // message id -> {seq}: waiting to be sealed and stored
export const KEYS = "history_keys";
export const TO_GIVE = "history_to_give"; // the key this device started, to give to the others
const MAX_QUEUED = 20_000; // beyond this, the newest are not queued (the oldest go up first)
let lastSeq = 0;
/** Queue positions: increasing within this page, and after those of earlier pages. */
const nextSeq = () => (lastSeq = Math.max(lastSeq + 1, Date.now() * 1000));
const UPLOAD_BYTES = 600 * 1024;
const TEAM_ROLES = ["admin", "agent"];

/** Whether `err` is work to do again later (not a revocation, not a bug of ours). */
const postponed = (err) => !(err instanceof DeviceRevoked) && (err instanceof ClientError || err instanceof CryptoError || err instanceof TypeError);
/** Whether a key not given for `err` is kept for a later batch: the node unreachable (a
 * failed fetch is a TypeError), a 429 or a 5xx. Any other refusal skips the device. */
const unreachable = (err) => err instanceof TypeError || (err instanceof ApiError && (err.status === 429 || err.status >= 500));

/** The history namespace of a Client; see the module comment. */
export class Archive {
  constructor(client) {
    this.client = client;
    this.state = null; // the node's GET /history, cached until something changes
    this.checked = false; // whether this run asked if the history must start
    this.giving = null; // the run giving the started key (giveStarted)
    this.reader = new Reader(this);
  }

  get store() {
    return this.client.store;
  }

  /** Whose history this device keeps: the business for a team member's device. */
  get owner() {
    return TEAM_ROLES.includes(this.client.role) ? this.client.speaksAs : this.client.address;
  }

  /** Map epoch -> history key this device holds (empty: not approved yet). */
  async keys(source = this.store) {
    const saved = (await source.getJson("kv", KEYS)) ?? { keys: {} };
    return new Map(Object.entries(saved.keys ?? {}).map(([e, k]) => [Number(e), b64decode(k, 32)]));
  }

  async addKeys(batch, keys) {
    const saved = (await batch.getJson("kv", KEYS)) ?? { owner: this.owner, keys: {} };
    for (const [epoch, key] of keys) saved.keys[String(epoch)] = b64encode(key);
    batch.putJson("kv", KEYS, saved);
    this.state = null;
  }

  /** Whether a message between `sender` and `to` belongs to the owner's history. */
  belongs(sender, to) {
    const owner = this.owner;
    return owner === this.client.address || owner === sender || owner === to;
  }

  /** Queue message ids to seal, in `batch` (the receiver's, or one of its own): one
   * record each in history_queue (an id queued already keeps its place), so queuing
   * costs the same however many wait (a sealed list was rewritten whole each time). */
  async queue(batch, messageIds) {
    const room = MAX_QUEUED - (await this.store.count(QUEUE));
    for (const messageId of messageIds.slice(0, Math.max(room, 0))) batch.add(QUEUE, messageId, { seq: nextSeq() });
  }

  /** A store from before history_queue: its sealed list of waiting ids moves in, in order. */
  async queueFromList() {
    if (this.moved) return;
    const pending = await this.store.getJson("kv", PENDING);
    if (pending) {
      await this.write(async (batch) => {
        await this.queue(batch, pending);
        batch.delete("kv", PENDING);
      });
    }
    this.moved = true;
  }

  /** A message was stored (in `batch`): seal it later if it belongs to the history. */
  async note(batch, message) {
    if ((await this.keys(batch)).size && this.belongs(message.sender, message.to)) await this.queue(batch, [message.messageId]);
  }

  /** A sent message was stored: queue it (under the lock) and seal it, in the background. */
  sent(message) {
    this.noting = (this.noting ?? Promise.resolve()).then(() => this.write((batch) => this.note(batch, message)))
      .then(() => this.soon(), () => undefined);
    return this.noting;
  }

  /** Queue what this device stored before it held a key (copies kept once by the node). */
  async backfill(batch) {
    await this.queue(batch, (await this.store.keys("messages")).map(String));
  }

  // ----- events of a received batch (inside its transaction and lock) -------------------

  /** A node event of a kind this namespace handles, as an ArchiveEvent (or null). */
  async onEvent(batch, event) {
    try {
      if (event.type === "history_keys") return await this.receiveKeys(batch, event);
      if (event.type === "device_added" && typeof event.device_id === "string") {
        return new ArchiveEvent("device_added", String(event.address ?? ""), event.device_id, String(event.name ?? ""), Number(event.ts ?? 0));
      }
      if (event.type === "erased") return await this.erase(batch, String(event.conversation_sha256 ?? ""), Number(event.ts ?? 0));
    } catch (err) {
      if (!(err instanceof CryptoError || err instanceof ClientError || err instanceof TypeError) || err instanceof DeviceRevoked) throw err;
    }
    return null;
  }

  async receiveKeys(batch, event) {
    const owner = this.owner;
    const device = event.sender_device;
    if (event.owner !== owner || event.sender !== owner || typeof device !== "string") throw new ContentError("history keys for another owner");
    const [plaintext, session] = await this.client.receiver.open(batch, owner, device, b64decode(event.ciphertext));
    batch.put("sessions", sessionKey(owner, device), session.toBytes());
    const body = loadsStrict(sealing.unpad(plaintext));
    if (body?.type !== "history_keys" || body.from !== owner || body.to !== owner || body.owner !== owner) {
      throw new ContentError("not a history keys message for this owner");
    }
    const keys = new Map(Object.entries(body.keys ?? {}).map(([e, k]) => [Number(e), b64decode(k, 32)]));
    const first = (await this.keys(batch)).size === 0;
    await this.addKeys(batch, keys);
    if (first) {
      // approved (or joined): fetch the history, seal what was kept before
      await this.reader.begin(batch);
      await this.backfill(batch);
    }
    return new ArchiveEvent("history_approved", owner, device, "", Number(event.ts ?? 0));
  }

  /** Forget the customer whose address hashes to `digest` (messages, sessions, keys). */
  async erase(batch, digest, ts) {
    const peers = new Set((await this.store.all("messages")).map((r) => r.peer));
    for (const peer of peers) {
      if (b64encode(sha256(utf8(peer))) !== digest) continue;
      for (const key of await this.store.keys("messages", "peer", peer)) {
        batch.delete("messages", key);
        batch.delete(QUEUE, key); // (no id of the conversation stays behind)
      }
      for (const name of ["sessions", "devices"]) {
        for (const key of await this.store.keys(name, undefined, undefined, sessionKey(peer, ""))) batch.delete(name, key);
      }
      return new ArchiveEvent("erased", peer, "", "", ts);
    }
    return null;
  }

  // ----- work after a batch or a send -------------------------------------------------

  /** Run `afterBatch` in the background, one run at a time (a send or a received batch
   * does not wait for it; runs asked for while one waits are one). */
  soon() {
    if (this.queued) return this.running;
    this.queued = true;
    this.running = (this.running ?? Promise.resolve()).then(() => {
      this.queued = false;
      return this.afterBatch();
    }).catch(() => undefined); // (a revocation wiped the store already; the next call says so)
    return this.running;
  }

  /** Wait for the background work asked for so far (the download after approval too). */
  idle() {
    return this.running ?? Promise.resolve();
  }

  /** Start the history if due, download it once approved, seal and store what waits.
   * Failures wait for the next time (only DeviceRevoked is thrown). */
  async afterBatch() {
    try {
      if (!this.checked) { // (again after the next batch if it failed)
        await this.start();
        this.checked = true;
      }
      if (await this.reader.due()) await this.reader.download();
      await this.flush();
    } catch (err) {
      if (!postponed(err)) throw err;
    }
  }

  async nodeState() {
    this.state ??= await this.client.transport.request("GET", "/history");
    return this.state;
  }

  /** Start the owner's history when there is none (or no holder of its key is left)
   * and this device may: the owner's other devices join it (at a restart: those given
   * an earlier epoch's key), and what this device kept from before is sealed and
   * stored first (when that upload fails, the key is given all the same and the
   * copies go up later). The key is given from the store (`giveStarted`), so a node
   * unreachable meanwhile delays it to a later batch. True when this device holds a key. */
  async start() {
    if ((await this.keys()).size) {
      if (await this.store.getJson("kv", TO_GIVE)) await this.giveStarted();
      return true;
    }
    this.state = null;
    const state = await this.nodeState();
    if (!(state.epoch === 0 || state.restart) || !state.may_approve) return false;
    const epoch = state.epoch + 1;
    try {
      await this.client.transport.request("POST", "/history/epochs", { epoch });
    } catch (err) {
      this.state = null;
      if (err instanceof ApiError && ["EPOCH_EXISTS", "HISTORY_FORBIDDEN"].includes(err.code)) return false;
      throw err;
    }
    await this.write(async (batch) => {
      await this.addKeys(batch, new Map([[epoch, sealing.newKey()]]));
      batch.putJson("kv", TO_GIVE, { epoch });
      await this.backfill(batch);
    });
    try { // before the others get the key and download; a failure must not keep the
      await this.flush(); // key from them: the copies wait and go up later
    } catch (err) {
      if (!postponed(err)) throw err;
    }
    await this.giveStarted();
    return true;
  }

  /** Give the key of the epoch `start` began to the owner's other devices. What is left
   * to do stays in the store (TO_GIVE) until each device got it or the node refused it
   * (it can be approved later); the node unreachable, a 429 or a 5xx throws, and the
   * next batch resumes. One run at a time (a batch's and an approval's are one). */
  giveStarted() {
    this.giving ??= this.giveDue().finally(() => {
      this.giving = null;
    });
    return this.giving;
  }

  async giveDue() {
    const due = await this.store.getJson("kv", TO_GIVE);
    if (!due.devices) {
      const listed = await this.client.transport.request("GET", "/history/devices");
      // At the first start every device predates the history; at a restart only devices
      // approved before get the new key (one still waiting for approval keeps waiting).
      due.devices = listed.devices.filter((d) => d.device_id !== this.client.deviceId && !d.current
        && (due.epoch === 1 || d.epochs.length)).map((d) => d.device_id);
      await this.write((batch) => batch.putJson("kv", TO_GIVE, due));
    }
    const key = (await this.keys()).get(due.epoch);
    while (key && due.devices.length) {
      try {
        await this.give(due.devices[0], new Map([[due.epoch, key]]));
      } catch (err) {
        if (!postponed(err) || unreachable(err)) throw err; // (kept: the next batch resumes)
      }
      due.devices.shift();
      await this.write((batch) => batch.putJson("kv", TO_GIVE, due));
    }
    await this.write((batch) => batch.delete("kv", TO_GIVE));
  }

  /** Run `fill(batch)` and commit it under the device's lock. */
  write(fill) {
    return withLock(this.client.lockName, async () => {
      const batch = new Batch(this.store);
      await fill(batch);
      await batch.commit();
    });
  }

  /** Seal waiting messages to the current key and store them; how many were sent. */
  async flush() {
    let sent = 0;
    await this.queueFromList();
    for (let round = 0; round < 1000; round++) {
      const pending = (await this.store.firstKeys(QUEUE, "seq", 100)).map(String);
      const keys = await this.keys();
      if (!pending.length || !keys.size) return sent;
      const epoch = Math.max(...keys.keys());
      const [items, taken] = await this.sealSome(pending, epoch, keys.get(epoch));
      if (items.length) {
        try {
          await this.client.transport.request("PUT", "/history/items", { items });
        } catch (err) {
          if (!(err instanceof ApiError)) throw err;
          if (err.code === "HISTORY_KEY_ROTATION") await this.rotate(epoch);
          else if (!["STALE_EPOCH", "HISTORY_KEY_MISSING"].includes(err.code)) throw err;
          return sent; // the next epoch's key is on its way (or was just made)
        }
      }
      await this.write(async (batch) => {
        for (const messageId of taken) batch.delete(QUEUE, messageId);
      });
      sent += items.length;
    }
    return sent;
  }

  /** [items, ids taken]: up to 100 waiting messages sealed, about UPLOAD_BYTES at most. */
  async sealSome(pending, epoch, key) {
    const items = [];
    const taken = [];
    let size = 0;
    for (const messageId of pending) {
      taken.push(messageId);
      const item = await this.sealed(messageId, epoch, key);
      if (item) {
        size += item.sealed.length;
        items.push(item);
      }
      if (size > UPLOAD_BYTES) break;
    }
    return [items, taken];
  }

  /** The sealed copy of a stored message (crypto.md §11), or null. */
  async sealed(messageId, epoch, key) {
    const row = await this.store.get("messages", messageId);
    if (!row) return null; // forgotten (erased) meanwhile
    const m = JSON.parse(new TextDecoder().decode(row.value));
    const to = m.content?.to ?? m.to;
    if (!this.belongs(m.sender, to)) return null; // an agent's own chat with a colleague
    const record = { message_id: m.messageId, sender: m.sender, sender_device: m.senderDevice, to, peer: m.peer, ts: m.ts, outgoing: Boolean(m.outgoing), content: m.content };
    const sealed = sealing.seal(key, epoch, this.owner, messageId, m.peer, m.ts, encodeCanonical(record));
    return { item_id: messageId, conversation: m.peer, ts: m.ts, epoch, sealed: b64encode(sealed) };
  }

  /** A holder of `epoch`'s key was removed: start the next epoch and give its key to the
   * other remaining holders (unless another device did; its key then reaches us). */
  async rotate(epoch) {
    try {
      await this.client.transport.request("POST", "/history/epochs", { epoch: epoch + 1 });
    } catch (err) {
      if (err instanceof ApiError && err.code === "EPOCH_EXISTS") return;
      throw err;
    }
    const key = sealing.newKey();
    await this.write((batch) => this.addKeys(batch, new Map([[epoch + 1, key]])));
    for (const device of (await this.client.transport.request("GET", "/history/devices")).devices) {
      if (device.epochs.includes(epoch) && device.device_id !== this.client.deviceId) await this.give(device.device_id, new Map([[epoch + 1, key]]));
    }
    this.state = null;
  }

  // ----- approving and downloading ------------------------------------------------------

  /** The owner's devices that hold no history key yet (to approve). */
  async pendingDevices() {
    const listed = await this.client.transport.request("GET", "/history/devices");
    return listed.devices.filter((d) => !d.epochs.length && d.device_id !== this.client.deviceId);
  }

  /** Give `deviceId` (another device of this owner) every history key this device
   * holds; the epochs given. What waits to be stored goes up first (the new device
   * downloads it all; a failed upload throws). The node refuses (ApiError) when
   * `[business] history_approval` does not let this device approve. */
  async approve(deviceId) {
    if (!(await this.start())) throw new ClientError("this device holds no history key to give");
    await this.flush(); // what waits goes up first: the new device downloads it all
    return this.give(deviceId, await this.keys());
  }

  async give(deviceId, keys) {
    const owner = this.owner;
    const body = { type: "history_keys", from: owner, to: owner, owner, keys: Object.fromEntries([...keys].sort((a, b) => a[0] - b[0]).map(([e, k]) => [String(e), b64encode(k)])) };
    const fresh = await this.client.claimMissing(new Map([[owner, new Set([deviceId])]]));
    let wire;
    await this.write(async (batch) => {
      const key = sessionKey(owner, deviceId);
      const state = await batch.getBytes("sessions", key);
      const session = state ? Session.fromBytes(state) : fresh.get(key);
      if (!session) throw new ClientError(`${owner} has no device ${deviceId} with keys`);
      wire = session.encrypt(sealing.pad(encodeCanonical(body)));
      batch.put("sessions", key, session.toBytes());
    });
    const epochs = [...keys.keys()].sort((a, b) => a - b);
    const answer = await this.client.transport.request("POST", "/history/keys", { device_id: deviceId, epochs, ciphertext: b64encode(wire) });
    return answer.epochs;
  }

  /** Fetch the sealed history, newest first, resuming an unfinished download; how many
   * messages were new. ApiError NOT_APPROVED before a device approved this one. */
  download({ maxPages = 1000 } = {}) {
    return this.reader.download({ maxPages });
  }
}
