// "Ben is also viewing this conversation": this device announces the conversation it
// shows (again every REPEAT_MS while the tab is visible, `false` at once when it leaves
// the conversation, the tab is hidden or the page goes away: a keepalive request, which
// outlives a closing tab); the others' announcements arrive on the team's WebSocket
// (kontor.js's `client.onViewing`) and count until their `expiresMs`. Nothing is stored.
import { displayName } from "./model.js";

const REPEAT_MS = 15_000; // the node keeps an announcement 30 s

export class Viewers {
  constructor(client, onchange) {
    this.client = client;
    this.onchange = onchange;
    this.seen = new Map(); // deviceId -> {conversation, account, expiresMs}
    this.shown = null; // the conversation this device announced
    this.timer = null;
    this.paused = false; // the tab is hidden or another page of the app is shown
    client.onViewing = (v) => this.take(v);
  }

  take(v) {
    if (v.deviceId === this.client.deviceId) return;
    if (v.viewing && v.expiresMs > Date.now()) this.seen.set(v.deviceId, v);
    else if (this.seen.get(v.deviceId)?.conversation === v.conversation) this.seen.delete(v.deviceId);
    this.onchange();
  }

  /** The names of the other team members who have `customer`'s conversation open. */
  of(customer) {
    const now = Date.now();
    const names = new Set();
    for (const v of this.seen.values()) {
      if (v.conversation === customer && v.expiresMs > now && v.account !== this.client.address) names.add(displayName(v.account));
    }
    return [...names].sort();
  }

  /** This device now shows `customer`'s conversation (or none: null). */
  show(customer) {
    if (this.shown && this.shown !== customer) this.announce(this.shown, false);
    this.shown = customer;
    if (customer) this.announce(customer, true);
    clearInterval(this.timer);
    this.timer = customer ? setInterval(() => this.tick(), REPEAT_MS) : null;
  }

  /** The conversation went out of sight (tab hidden, another page of the app) or back. */
  visible(isVisible) {
    if (this.paused === !isVisible) return;
    this.paused = !isVisible;
    if (this.shown) this.announce(this.shown, isVisible);
  }

  tick() {
    if (this.shown && !this.paused) this.announce(this.shown, true);
    const now = Date.now();
    let pruned = false;
    for (const [id, v] of this.seen) if (v.expiresMs <= now) pruned = this.seen.delete(id) || pruned;
    if (pruned) this.onchange();
  }

  announce(customer, viewing) {
    if (!viewing) return this.leave(customer);
    this.client.announceViewing(customer, viewing).catch(() => undefined); // presence is best effort
  }

  /** kontor.js's announceViewing(customer, false) as a keepalive request: the browser
   * sends it even when this page is being closed (pagehide), so the others stop seeing
   * this device at once rather than at the 30 s expiry. */
  leave(customer) {
    const transport = this.client.transport;
    fetch(transport.url(`/business/conversations/${encodeURIComponent(customer)}/viewing`), {
      method: "POST", keepalive: true, cache: "no-store", referrerPolicy: "no-referrer",
      headers: transport.headers({ "Content-Type": "application/json" }), body: JSON.stringify({ viewing: false }),
    }).catch(() => undefined);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
  }
}
