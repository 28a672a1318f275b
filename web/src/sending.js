// The Client's sending (node/client/sending.py): one message at a time, encrypted for
// every device of the recipient and of the sender's own account, X3DH for devices with no
// session, and the 409 DEVICE_MISMATCH refresh-and-retry. A send's envelopes stay in the
// sealed store under its txn id until the node answers, so a retry with that txn id
// (after a lost answer or a reload) sends the same body, which the node replays.
import { b64decode, b64encode, hex, randomBytes, utf8 } from "./crypto/bytes.js";
import { sha256 } from "./crypto/keys.js";
import { CryptoError } from "./crypto/errors.js";
import { Session } from "./crypto/session.js";
import { verifyBundle } from "./crypto/verify.js";
import { decode, encode } from "./content.js";
import { ApiError, ClientError, DeliveryFailed, VerificationError } from "./errors.js";
import { withLock } from "./locks.js";
import { REPAIRS, sessionKey } from "./names.js";
import { Message } from "./receive.js";
import { Batch } from "./store.js";

const SEND_ATTEMPTS = 4;
const DEVICE_LIST_TTL_MS = 60_000;
/** kv records of the sends not answered yet: `outgoing:<txn id>` (sender, to, plaintext, envelopes). */
const OUTGOING = "outgoing:";

/** A fresh transaction id for `PUT /send/{txn_id}`. */
export const newTxnId = () => "t" + b64encode(randomBytes(16));
const TXN_ID = /^[A-Za-z0-9._~-]{1,64}$/;

/** A failure after which the node may have stored the send: the answer was lost. */
const transient = (err) => err instanceof TypeError || (err instanceof ApiError && (err.status >= 500 || err.status === 429));

const repairFailed = (repair, reason) => new DeliveryFailed(`message ${repair.message_id} to ${repair.to} did not reach every device: ${reason}`,
  { messageId: repair.message_id, to: repair.to, reason, ts: Date.now() });

/** Mixed into Client: sending. */
export class Sending {
  /** Send a text message to an account (a person or a business). */
  sendText(to, text, extra = {}, options = {}) {
    return this.send(to, { type: "text", body: text, ...extra }, options);
  }

  /** A transaction id for `send(..., {txnId})`: an app that retries a send whose answer
   * it did not get (a network failure, a 5xx, a reload) passes the same one again. */
  newTxnId() {
    return newTxnId();
  }

  /**
   * Encrypt `content` for every device that must get it and send it; the Message.
   * With `txnId` (`newTxnId()`), a retry is one message: when an earlier call with it
   * got no answer, its stored envelopes are sent again (its content, not this one's).
   */
  send(to, content, { remember = true, txnId = null } = {}) {
    if (txnId !== null && !(typeof txnId === "string" && TXN_ID.test(txnId))) {
      return Promise.reject(new ClientError("txnId is 1-64 characters of A-Z a-z 0-9 . _ ~ - (use newTxnId())"));
    }
    const run = this.sending.then(() => this.sendNow(to, content, remember, txnId ?? newTxnId(), txnId !== null));
    this.sending = run.catch(() => undefined); // one send at a time, in order
    return run;
  }

  /** `retryable`: the caller passed `txnId` (one made up here has nothing saved under it,
   * and no one can retry under it). */
  async sendNow(to, content, remember, txnId, retryable) {
    const saved = retryable ? await this.store.getJson("kv", OUTGOING + txnId) : null;
    let sender, plaintext;
    if (saved) {
      ({ sender, to } = saved);
      plaintext = b64decode(saved.plaintext);
      content = decode(plaintext);
    } else {
      sender = await this.senderFor(to);
      content = { ...content, from: sender, to };
      plaintext = encode(content);
    }
    const answer = await this.sendWithRetries(txnId, sender, to, plaintext, saved);
    const message = new Message(answer.message_id, sender, this.deviceId, to, to, answer.ts, content, true);
    const done = [["delete", "kv", OUTGOING + txnId]];
    if (remember) done.push(["put", "messages", message.messageId, message.record(this.store)]);
    try { // the envelopes go and the message is kept in one transaction: both or neither
      await this.store.write(done);
    } catch (err) {
      // Under the caller's txn id they stay for the retry, which records the message;
      // under one made up here they go, or they would stay for ever.
      if (!retryable) await this.store.write(done.slice(0, 1)).catch(() => undefined);
      throw err;
    }
    if (remember) this.archive.sent(message); // its history copy: in the background
    return message;
  }

  /** Whether a send under `txnId` is still waiting for the node's answer. */
  async sendPending(txnId) {
    return (await this.store.getBytes("kv", OUTGOING + txnId)) !== null;
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

  /** The node's answer to the send; `saved` is the stored body of an unanswered try. A
   * lost answer keeps the stored body for the retry; a refusal drops it. */
  async sendWithRetries(txnId, sender, to, plaintext, saved) {
    let targets = null;
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      if (!saved) {
        targets ??= await this.targets(sender, to);
        const fresh = await this.claimMissing(targets);
        const keep = [OUTGOING + txnId, { sender, to, plaintext: b64encode(plaintext) }];
        saved = { envelopes: await withLock(this.lockName, () => this.encryptAndPersist(targets, fresh, plaintext, keep)) };
      }
      try {
        return await this.transport.send(txnId, sender, to, saved.envelopes);
      } catch (err) {
        if (transient(err)) throw err; // kept: the caller retries with the same txn id
        await this.store.write([["delete", "kv", OUTGOING + txnId]]);
        if (!(err instanceof ApiError) || err.code !== "DEVICE_MISMATCH") throw err;
        targets = this.applyMismatch(targets ?? (await this.targets(sender, to)), err.details);
        saved = null;
      }
    }
    throw new DeliveryFailed(`the devices of ${to} kept changing; try again`, { to, reason: "DEVICE_MISMATCH", ts: Date.now() });
  }

  /** Repair the fan-outs that `devices_changed` events asked for (receive.js queues them);
   * one that cannot be made becomes a DeliveryFailed event. Offline: tried next batch. */
  async repairFanouts() {
    for (;;) {
      const [repair] = (await this.store.getJson("kv", REPAIRS)) ?? [];
      if (!repair) return;
      let failed = null;
      try {
        await this.repairOne(repair);
      } catch (err) {
        if (err instanceof TypeError) return;
        if (err instanceof DeliveryFailed) failed = err;
        else if (err instanceof ClientError) failed = repairFailed(repair, err.code ?? err.name);
        else throw err;
      }
      await withLock(this.lockName, async () => {
        const batch = new Batch(this.store);
        batch.putJson("kv", REPAIRS, ((await batch.getJson("kv", REPAIRS)) ?? []).slice(1));
        if (failed) batch.putJson("inbox", "item", failed.toJSON());
        await batch.commit();
      });
    }
  }

  /** Encrypt a stored sent message again for the devices that lacked an envelope. */
  async repairOne(repair) {
    const row = await this.store.get("messages", repair.message_id);
    if (!row) return; // not kept (a receipt) or forgotten: nothing to repair
    const message = Message.fromRecord(row);
    const run = this.sending.then(() => this.repair(message.sender, repair.to, encode(message.content), repair.message_id, new Set(repair.missing)));
    this.sending = run.catch(() => undefined);
    await run;
  }

  /** Complete `messageId` for the devices of `to` its node reported without an envelope
   * (docs/protocol.md, "Fan-out that repairs itself"); devices gone meanwhile are skipped.
   * DeliveryFailed when it cannot be done. */
  async repair(sender, to, plaintext, messageId, missing) {
    // One txn id per repair: a retry after a lost answer is recognised (TXN_CONFLICT).
    const txnId = "r" + hex(sha256(utf8(`${messageId} ${[...missing].sort().join(",")}`))).slice(0, 40);
    this.deviceLists.delete(to);
    const current = new Set((await this.deviceEntries(to)).map((d) => d.device_id));
    let targets = new Map([[to, new Set([...missing].filter((d) => current.has(d)))]]);
    for (let attempt = 0; attempt < SEND_ATTEMPTS; attempt++) {
      if (!targets.get(to)?.size) return;
      const fresh = await this.claimMissing(targets);
      const envelopes = await withLock(this.lockName, () => this.encryptAndPersist(targets, fresh, plaintext));
      try {
        await this.transport.send(txnId, sender, to, envelopes, messageId);
        return;
      } catch (err) {
        if (err instanceof ApiError && err.code === "TXN_CONFLICT") return;
        if (!(err instanceof ApiError) || err.code !== "DEVICE_MISMATCH") throw err;
        const gone = new Set(err.details?.extra?.[to] ?? []);
        targets = new Map([[to, new Set([...targets.get(to)].filter((d) => !gone.has(d)))]]);
      }
    }
    throw new DeliveryFailed(`message ${messageId} did not reach every device of ${to}`, { messageId, to, reason: "DEVICE_MISMATCH", ts: Date.now() });
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

  /** Encrypt for every target device and store the advanced sessions (and, with `keep`,
   * [kv key, record], the envelopes with that record) in one transaction. */
  async encryptAndPersist(targets, fresh, plaintext, keep = null) {
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
    if (keep) batch.putJson("kv", keep[0], { ...keep[1], envelopes });
    await batch.commit();
    return envelopes;
  }
}
