// The chat page's state: the one conversation of this browser's guest with the business,
// from the device's sealed store (so it stays on reload) and kept live by the device's
// stream; delivered and read marks from receipts; read receipts sent for what is shown.
// Texts go through the Outbox (outbox.js): what is written while the network is down
// waits in the device's store and is sent, once and in order, when the network is back.
import { Message, Receipt } from "../src/receive.js";
import { Outbox } from "./outbox.js";

const SHOWN_TYPES = new Set(["text", "media", "product", "order", "order_status"]);
const HISTORY = 500;
const RETRY_MS = 10_000;

export class Chat {
  /** `onChange()` is called after every change worth drawing. */
  constructor(client, business, onChange) {
    Object.assign(this, { client, business, onChange, messages: [], stopped: false, flushing: null, again: false, retry: null });
    this.outbox = new Outbox(client.store, business);
  }

  get pending() {
    return this.outbox.items;
  }

  /**
   * Load the stored history and what waits to be sent; then follow the device's stream
   * (unless `follow` is false: then the caller hands items to `take`).
   */
  async start(onError, { follow = true } = {}) {
    this.messages = (await this.client.history(this.business, HISTORY)).filter(shown);
    await this.outbox.load(this.messages);
    this.onChange();
    if (follow) this.follow(onError);
    if (navigator.onLine) await this.flush(onError);
  }

  async follow(onError) {
    try {
      for await (const item of this.client.events()) {
        if (this.stopped) return;
        this.take(item);
      }
    } catch (err) {
      if (!this.stopped) onError(err);
    }
  }

  take(item) {
    if (isArchiveEvent(item)) {
      this.onArchive?.(item);
      return;
    }
    if (item instanceof Receipt) {
      const ids = new Set(item.messageIds);
      for (const m of this.messages) if (ids.has(m.messageId)) m[item.kind === "read" ? "read" : "delivered"] = true;
    } else if (item instanceof Message && item.peer === this.business && shown(item)) {
      if (this.messages.some((m) => m.messageId === item.messageId)) return;
      this.messages.push(item);
      this.messages.sort((a, b) => a.ts - b.ts);
    } else {
      return;
    }
    this.onChange();
  }

  /** Read the history again (another device gave this one the earlier messages). */
  async reload() {
    const marks = new Map(this.messages.map((m) => [m.messageId, m]));
    this.messages = (await this.client.history(this.business, HISTORY)).filter(shown).map((m) => {
      const known = marks.get(m.messageId);
      return known ? Object.assign(m, { delivered: m.delivered || known.delivered, read: m.read || known.read }) : m;
    });
    this.onChange();
  }

  /** Queue a text for the business and send what waits; `onError` for a refused one. */
  async sendText(text, onError) {
    await this.outbox.add(text, this.client.newTxnId?.() ?? null);
    this.onChange();
    return this.flush(onError);
  }

  /** Send a file (not queued: it needs the network now). */
  async sendFile(file) {
    this.take(await this.client.sendMediaFile(this.business, file, { name: file.name, mime: file.type || undefined }));
  }

  /** Send what `send()` (a promise of the sent Message) gives, as one of ours. */
  async sendOther(send) {
    this.take(await send());
  }

  /**
   * Send the waiting texts in order; stop at the first that meets no network. A call
   * while a run is under way (the network came back during a failing try) makes that run
   * go once more at its end, so the call is never lost.
   */
  flush(onError) {
    if (this.flushing) {
      this.again = true;
      return this.flushing;
    }
    this.flushing = (async () => {
      do {
        this.again = false;
        await this.sendWaiting(onError);
      } while (this.again && !this.stopped);
    })().finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async sendWaiting(onError) {
    for (let item = this.outbox.first(); item && !this.stopped; item = this.outbox.first()) {
      await this.outbox.mark(item, true);
      let sent = null;
      try {
        sent = await this.client.sendText(this.business, item.text, {}, item.txn ? { txnId: item.txn } : {});
      } catch (err) {
        if (err instanceof TypeError || !navigator.onLine) { // offline: retried when back
          await this.outbox.mark(item, false);
          this.retryLater(onError);
          this.onChange();
          return;
        }
        onError(err);
      }
      await this.outbox.remove(item); // out of the queue before it is drawn as sent
      if (sent) this.take(sent);
      this.onChange();
    }
  }

  /** Try again in RETRY_MS (a network that failed without the browser going offline). */
  retryLater(onError) {
    if (this.retry || this.stopped) return;
    this.retry = setTimeout(() => { this.retry = null; this.flush(onError); }, RETRY_MS);
  }

  /** Tell the business (end to end) that its messages shown on screen were read. */
  async markShownRead() {
    const unread = this.messages.filter((m) => !m.outgoing && !m.read);
    for (const m of unread) {
      m.read = true;
      await this.client.markRead(m);
    }
  }

  /** Stop drawing and retrying (the device and its stream stay open for others). */
  detach() {
    this.stopped = true;
    this.onChange = () => undefined;
    clearTimeout(this.retry);
  }

  stop() {
    this.stopped = true;
    this.client.receiver.close();
  }
}

const shown = (m) => SHOWN_TYPES.has(m.type);
/** kontor.js's ArchiveEvent (history on new devices), where kontor.js has one. */
const isArchiveEvent = (item) => item?.constructor?.name === "ArchiveEvent" && typeof item.kind === "string";
