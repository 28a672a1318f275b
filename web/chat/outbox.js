// What the customer wrote while the network was down, kept in the device's sealed store
// (kv "chat_outbox:<business>", sealed like every value of kontor.js's store), so it
// survives a reload while offline, and sent once, in order, when the network is back.
//
// "Once": an item is marked `sending` in the store before its send starts and removed
// when the node accepted it. An item still marked when the page opens was cut off (the
// page closed mid-send): it is dropped if the history already holds the same text sent
// after it was queued (the node accepted it), else sent again.
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

  async add(text) {
    const ts = Date.now();
    this.items.push({ key: `p${ts}-${Math.random().toString(36).slice(2, 8)}`, text, ts, sending: false });
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
