// What the customer wrote while the network was down, kept in the device's sealed store
// (kv "chat_outbox:<business>", sealed like every value of kontor.js's store), so it
// survives a reload while offline, and sent once, in order, when the network is back.
//
// "Once": every try of an item uses the item's one transaction id, so a send whose answer
// was lost is replayed by the node as the same message (kontor.js keeps its envelopes
// until the answer). An item is also marked `sending` in the store before its send
// starts and removed when the node accepted it; one still marked when the page opens
// (the page closed after kontor.js stored the sent message, before it left the queue)
// is dropped if the history already holds the same text sent after it was queued.
const SKEW_MS = 10 * 60 * 1000; // the node stamps messages; this browser's clock may differ

export class Outbox {
  constructor(store, business) {
    Object.assign(this, { store, key: `chat_outbox:${business}`, items: [] });
  }

  /** The stored items, minus those the `history` shows were sent already. */
  async load(history) {
    const stored = (await this.store.getJson("kv", this.key)) ?? [];
    this.items = stored.filter((item) => !(item.sending && history.some((m) =>
      m.outgoing && m.type === "text" && m.text === item.text && m.ts >= item.ts - SKEW_MS)));
    for (const item of this.items) item.sending = false;
    if (this.items.length !== stored.length) await this.save();
  }

  save() {
    return this.store.write([["put", "kv", this.key, this.store.jsonRecord("kv", this.key, this.items)]]);
  }

  /** Queue `text`; `txn` is its send's transaction id (kontor.js's newTxnId), kept for
   * every try, so a try whose answer was lost is sent again as the same message. */
  async add(text, txn = null) {
    const ts = Date.now();
    this.items.push({ key: `p${ts}-${Math.random().toString(36).slice(2, 8)}`, text, ts, sending: false, txn });
    await this.save();
  }

  first() {
    return this.items[0] ?? null;
  }

  async mark(item, sending) {
    item.sending = sending;
    await this.save();
  }

  async remove(item) {
    this.items = this.items.filter((i) => i !== item);
    await this.save();
  }
}
