// Receiving (node/client/client.py's receive half): events from the node over a
// WebSocket, else by long-poll; each batch is decrypted and stored, with the new stream
// position and the items for the app, in one IndexedDB transaction under the device's
// Web Lock, and only then acknowledged. The app takes items from that stored inbox, so
// every stored message is handed to it exactly once, also across a reload.
import { b64decode, equal, fromUtf8, hex, utf8 } from "./crypto/bytes.js";
import { CryptoError } from "./crypto/errors.js";
import { sha256, X25519Key } from "./crypto/keys.js";
import { Session, peekPrekey } from "./crypto/session.js";
import { decode } from "./content.js";
import { ApiError, ClientError, ContentError, DeliveryFailed, DeviceRevoked, VerificationError } from "./errors.js";
import { withLock } from "./locks.js";
import { REPAIRS, sessionKey } from "./names.js";
import { Batch } from "./store.js";
import { WS_CLOSE_DEVICE_REVOKED } from "./transport.js";
import { ArchiveEvent } from "./archiveevent.js";

const WS_RETRY_MS = 60_000;
const MAX_BACKOFF_MS = 30_000;
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** A decrypted message; `content` is the typed content (docs/protocol.md). */
export class Message {
  constructor(messageId, sender, senderDevice, to, peer, ts, content, outgoing = false) {
    Object.assign(this, { messageId, sender, senderDevice, to, peer, ts, content, outgoing });
  }

  get type() {
    return this.content.type;
  }

  get text() {
    return this.type === "text" ? this.content.body : null;
  }

  toJSON() {
    const { messageId, sender, senderDevice, to, peer, ts, content, outgoing } = this;
    return { kind: "message", messageId, sender, senderDevice, to, peer, ts, content, outgoing };
  }

  /** The stored form: content sealed; peer and ts readable, for the index and order. */
  record(store) {
    return store.jsonRecord("messages", this.messageId, this.toJSON(), { peer: this.peer, ts: this.ts, outgoing: this.outgoing });
  }

  static fromRecord(row) {
    const m = JSON.parse(fromUtf8(row.value));
    const message = new Message(m.messageId, m.sender, m.senderDevice, m.to, m.peer, m.ts, m.content, m.outgoing);
    message.delivered = Boolean(row.delivered);
    message.read = Boolean(row.read);
    return message;
  }
}

/** A delivery (from the node) or read (end to end, from the peer's app) receipt. */
export class Receipt {
  constructor(kind, messageIds, by, device, ts) {
    Object.assign(this, { kind, messageIds, by, device, ts });
  }

  toJSON() {
    const { kind, messageIds, by, device, ts } = this;
    return { kind: "receipt", receipt: kind, messageIds, by, device, ts };
  }
}

/** A change to a conversation of the team inbox (docs/business.md "Live updates"). */
export class ConversationEvent {
  constructor(change, conversation, note = null) {
    Object.assign(this, { change, conversation, note });
  }

  toJSON() {
    const { change, conversation, note } = this;
    return { kind: "conversation", change, conversation, note };
  }
}

/** The DeliveryFailed of a node's `failed` event; null when it is malformed. */
function failedEvent(event) {
  const ok = ["message_id", "to", "reason"].every((k) => typeof event[k] === "string") && Number.isSafeInteger(event.ts);
  if (!ok) return null;
  const { message_id: messageId, to, reason, ts } = event;
  return new DeliveryFailed(`message ${messageId} to ${to} was not delivered: ${reason}`, { messageId, to, reason, ts });
}

function revive(item) {
  if (item.kind === "failed") return new DeliveryFailed(item.message, item);
  if (item.kind === "conversation") return new ConversationEvent(item.change, item.conversation, item.note);
  if (item.kind === "archive") return new ArchiveEvent(item.archive, item.address, item.deviceId, item.name, item.ts);
  if (item.kind === "receipt") return new Receipt(item.receipt, item.messageIds, item.by, item.device, item.ts);
  return new Message(item.messageId, item.sender, item.senderDevice, item.to, item.peer, item.ts, item.content, item.outgoing);
}

/** A team socket's `viewing` frame for the app: who shows (or left) which conversation, until when. */
function viewingOf(f) {
  return { conversation: String(f.conversation), account: String(f.account), deviceId: String(f.device_id), viewing: f.viewing === true, expiresMs: Number(f.expires_ms) || 0 };
}

/** A WebSocket whose batches are awaited one by one. */
class Push {
  constructor(transport, since) {
    this.queue = [];
    this.waiter = null;
    this.closed = false;
    this.opened = false;
    this.ws = transport.websocket(since);
    this.ws.onopen = () => {
      this.opened = true;
    };
    this.ws.onmessage = (e) => {
      try {
        this.queue.push(JSON.parse(e.data));
      } catch {
        return;
      }
      this.wake();
    };
    this.closeCode = null;
    this.ws.onclose = (e) => {
      this.closeCode = e.code;
      this.closed = true;
      this.wake();
    };
  }

  wake() {
    if (this.waiter) this.waiter();
    this.waiter = null;
  }

  /** The next pushed message, or null once the socket is closed. */
  async next() {
    while (!this.queue.length && !this.closed) await new Promise((resolve) => (this.waiter = resolve));
    return this.queue.shift() ?? null;
  }

  ack(upTo) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify({ type: "ack", up_to: upTo }));
    return true;
  }

  close() {
    this.closed = true;
    this.ws.close();
    this.wake();
  }
}

/** The receiving half of a Client. */
export class Receiver {
  constructor(client) {
    this.client = client;
    this.push = null;
    this.wsRetryAt = 0;
    this.closed = false;
    this.undecryptable = 0;
  }

  close() {
    this.closed = true;
    this.push?.close();
  }

  get store() {
    return this.client.store;
  }

  async position() {
    return (await this.store.getJson("kv", "position")) ?? 0;
  }

  /** Fetch once (waiting up to `timeoutMs`), store, ack; the items, handed over. */
  async syncOnce(timeoutMs = 0) {
    const batch = await this.client.transport.sync(await this.position(), timeoutMs);
    await this.process(batch.events, batch.next);
    if (batch.events.length) await this.client.transport.ack(batch.next);
    await this.client.archive.idle();
    return this.drain();
  }

  /** Everything in the inbox, taken out. */
  async drain() {
    const out = [];
    for (let item; (item = await this.store.takeInbox()) !== null; ) out.push(revive(item));
    return out;
  }

  /** Messages, receipts, DeliveryFailed and conversation events forever: first what is stored and not yet handed over. */
  async *events({ websocket = true, pollTimeoutMs = 25_000 } = {}) {
    let delay = 500;
    while (!this.closed) {
      for (let item; (item = await this.store.takeInbox()) !== null; ) yield revive(item);
      try {
        if (websocket && Date.now() >= this.wsRetryAt) await this.receiveByWebSocket();
        else await this.syncToInbox(pollTimeoutMs);
        delay = 500;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) throw err;
        if (!(err instanceof TypeError || err instanceof ApiError)) throw err;
        await sleep(delay); // reconnect backoff, not synchronisation
        delay = Math.min(delay * 2, MAX_BACKOFF_MS);
      }
    }
    if (this.store.wiped) throw new DeviceRevoked(); // revoked while this loop waited
  }

  async syncToInbox(timeoutMs) {
    const batch = await this.client.transport.sync(await this.position(), timeoutMs);
    await this.process(batch.events, batch.next);
    if (batch.events.length) await this.client.transport.ack(batch.next);
  }

  /** Wait for one pushed batch and store it; a socket that never opens means long-poll. */
  async receiveByWebSocket() {
    if (!this.push || this.push.closed) this.push = new Push(this.client.transport, await this.position());
    const msg = await this.push.next();
    if (msg === null) {
      if (this.closed) return; // closed by close(): no request after it (a logout follows)
      if (this.push.closeCode === WS_CLOSE_DEVICE_REVOKED) {
        await this.client.transport.revoked();
        throw new DeviceRevoked();
      }
      if (!this.push.opened) this.wsRetryAt = Date.now() + WS_RETRY_MS; // long-poll meanwhile
      this.push = null;
      await this.syncToInbox(0);
      return;
    }
    if (msg.type === "viewing") return this.client.onViewing?.(viewingOf(msg)); // team presence, never stored
    if (msg.type !== "events") return;
    await this.process(msg.events, msg.next);
    if (msg.events.length && !this.push?.ack(msg.next)) await this.client.transport.ack(msg.next);
  }

  /** Decrypt and store a batch and the new position in one transaction. */
  async process(events, next) {
    await this.learnSenders(events);
    const usedPrekey = await withLock(this.client.lockName, async () => {
      const batch = new Batch(this.store);
      const position = (await batch.getJson("kv", "position")) ?? 0;
      let used = false;
      for (const event of events) {
        if ((event.pos ?? 0) <= position) continue; // stored before an ack was lost
        const [item, prekey] = await this.handle(batch, event);
        used ||= prekey;
        if (item) batch.putJson("inbox", "item", item.toJSON());
      }
      if (events.length) batch.putJson("kv", "position", Math.max(position, next));
      await batch.commit();
      return used;
    });
    if (usedPrekey) await this.client.topUpPrekeys().catch(() => undefined);
    await this.client.repairFanouts();
    this.client.archive.soon(); // sealing, the download: in the background
  }

  async handle(batch, event) {
    if (event.type === "receipt") {
      const ok = ["message_id", "by", "device"].every((k) => typeof event[k] === "string") && Number.isSafeInteger(event.ts);
      if (!ok) return [null, false];
      batch.mark(event.message_id, "delivered");
      return [new Receipt("delivered", [event.message_id], event.by, event.device, event.ts), false];
    }
    if (event.type === "message") return this.decryptEvent(batch, event);
    if (event.type === "conversation" && event.conversation && typeof event.conversation === "object") {
      return [new ConversationEvent(String(event.change ?? "updated"), event.conversation, event.note ?? null), false];
    }
    if (event.type === "failed") return [failedEvent(event), false];
    if (event.type === "devices_changed") {
      await this.noteRepair(batch, event);
      return [null, false];
    }
    if (["history_keys", "device_added", "erased"].includes(event.type)) return [await this.client.archive.onEvent(batch, event), false];
    return [null, false]; // other events: not for this stream
  }

  /** Queue a fan-out repair (sending.js makes it after the batch is stored). */
  async noteRepair(batch, event) {
    const missing = (Array.isArray(event.missing) ? event.missing : []).filter((d) => typeof d === "string").slice(0, 100);
    if (!missing.length || typeof event.message_id !== "string" || typeof event.to !== "string") return;
    const repairs = (await batch.getJson("kv", REPAIRS)) ?? [];
    repairs.push({ message_id: event.message_id, to: event.to, missing });
    batch.putJson("kv", REPAIRS, repairs.slice(-1000));
  }

  /** Fetch the published identity of every unknown device starting a session. */
  async learnSenders(events) {
    for (const event of events) {
      if (event.type !== "message" && event.type !== "history_keys") continue;
      try {
        if ((await this.client.pinned(event.sender, event.sender_device)) !== null) continue;
        if (peekPrekey(b64decode(event.ciphertext)) !== null) await this.client.learnDevice(event.sender, event.sender_device);
      } catch (err) {
        if (!(err instanceof CryptoError || err instanceof ClientError || err instanceof TypeError)) throw err;
      }
    }
  }

  async decryptEvent(batch, event) {
    const { sender, sender_device: device } = event;
    let plaintext, session, prekey;
    try {
      if (typeof sender !== "string" || typeof device !== "string") throw new ContentError("event without sender");
      [plaintext, session, prekey] = await this.open(batch, sender, device, b64decode(event.ciphertext));
    } catch (err) {
      if (!(err instanceof CryptoError || err instanceof ClientError)) throw err;
      this.undecryptable++;
      return [null, false];
    }
    // The session advanced: keep it whatever the content is, so a message we cannot use
    // does not break the conversation (or allow a replay).
    batch.put("sessions", sessionKey(sender, device), session.toBytes());
    let content;
    try {
      content = decode(plaintext);
      if (content.from !== sender || content.to !== event.to) throw new ContentError("the message names another conversation");
    } catch (err) {
      if (!(err instanceof ClientError)) throw err;
      this.undecryptable++;
      return [null, prekey];
    }
    if (content.type === "receipt") {
      for (const id of content.message_ids) batch.mark(id, "read");
      return [new Receipt("read", content.message_ids, sender, device, event.ts), prekey];
    }
    const mine = new Set([this.client.address, this.client.speaksAs]);
    const outgoing = mine.has(sender);
    const peer = outgoing ? event.to : sender;
    const message = new Message(event.message_id, sender, device, event.to, peer, event.ts, content, outgoing);
    batch.ops.push(["put", "messages", message.messageId, message.record(this.store)]);
    await this.client.archive.note(batch, message);
    return [message, prekey];
  }

  /** Decrypt with the existing session, or accept a new one from a prekey message. */
  async open(batch, sender, device, wire) {
    const state = await batch.getBytes("sessions", sessionKey(sender, device));
    const info = peekPrekey(wire);
    if (state) {
      const session = Session.fromBytes(state);
      if (info === null || session.matchesPrekey(info)) return [session.decrypt(wire), session, false];
    }
    if (info === null) throw new VerificationError("no session with this device and no prekey message");
    const handshake = hex(sha256(info.ephemeralKey));
    if ((await batch.getBytes("handshakes", handshake)) !== null) throw new VerificationError("this session start was already used (a replay)");
    const pinned = await this.client.pinned(sender, device);
    if (pinned === null) throw new VerificationError(`${sender} has no published device ${device}`);
    const [signing, identity] = pinned;
    if (!(equal(signing, info.initiatorSigningKey) && equal(identity, info.initiatorIdentityKey))) {
      throw new VerificationError("the prekey message is not from the device's published identity");
    }
    const spk = await batch.getBytes("prekeys", info.signedPrekeyId);
    if (spk === null) throw new VerificationError("unknown signed prekey");
    let otk = null;
    if (info.oneTimePrekeyId !== null) {
      const secret = await batch.getBytes("prekeys", info.oneTimePrekeyId);
      if (secret === null) throw new VerificationError("one-time prekey already used or unknown");
      otk = new X25519Key(secret);
    }
    const [session, plaintext] = Session.accept(this.client.identity, new X25519Key(spk), otk, wire);
    if (info.oneTimePrekeyId !== null) batch.delete("prekeys", info.oneTimePrekeyId);
    batch.put("handshakes", handshake, utf8(String(Date.now())));
    return [plaintext, session, true];
  }
}
