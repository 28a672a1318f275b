// The chat page's state: the one conversation of this browser's guest with the business,
// from the device's sealed store (so it stays on reload) and kept live by the device's
// stream; delivered and read marks from receipts; read receipts sent for what is shown.
// What is written while the network is down waits (in this page) and is sent, in order,
// when the browser is back online.
import { Message, Receipt } from "../src/receive.js";

const SHOWN_TYPES = new Set(["text", "media", "product", "order", "order_status"]);
const HISTORY = 500;

export class Chat {
  /** `onChange()` is called after every change worth drawing. */
  constructor(client, business, onChange) {
    Object.assign(this, { client, business, onChange, messages: [], pending: [], stopped: false });
    this.flushing = null;
  }

  /** Load the stored history; then follow the stream until `stop()`. */
  async start(onError) {
    this.messages = (await this.client.history(this.business, HISTORY)).filter(shown);
    this.onChange();
    this.follow(onError);
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

  /** Queue a text for the business and send what waits; `onError` for a refused one. */
  sendText(text, onError) {
    this.pending.push({ text, ts: Date.now(), key: `p${Date.now()}-${this.pending.length}` });
    this.onChange();
    return this.flush(onError);
  }

  /** Send the waiting texts in order; stop at the first that meets no network. */
  flush(onError) {
    this.flushing ??= this.sendWaiting(onError).finally(() => { this.flushing = null; });
    return this.flushing;
  }

  async sendWaiting(onError) {
    while (this.pending.length && !this.stopped) {
      try {
        this.take(await this.client.sendText(this.business, this.pending[0].text));
      } catch (err) {
        if (err instanceof TypeError || !navigator.onLine) return; // offline: retried when back
        onError(err);
      }
      this.pending.shift();
      this.onChange();
    }
  }

  /** Tell the business (end to end) that its messages shown on screen were read. */
  async markShownRead() {
    const unread = this.messages.filter((m) => !m.outgoing && !m.read);
    for (const m of unread) {
      m.read = true;
      await this.client.markRead(m);
    }
  }

  stop() {
    this.stopped = true;
    this.client.receiver.close();
  }
}

const shown = (m) => SHOWN_TYPES.has(m.type);
