// The team inbox's state on this device: the node's conversation records (status,
// assignee, labels, unread), the decrypted messages from the device's sealed store, the
// open conversation's notes; kept live from the device's event stream.
import { ArchiveEvent } from "../src/archiveevent.js";
import { ConversationEvent, Message, Receipt } from "../src/receive.js";
import { Viewers } from "./presence.js";
import { Shop } from "./shop.js";

const MAX_PAGES = 20;
const RECEIPT_BATCH = 500;
const q = encodeURIComponent;

/** `anna.berg@x` -> `Anna Berg` (node/protocol/placeholders.py's display_name). */
export function displayName(address) {
  const local = String(address).split("@")[0];
  const words = local.split(/[._\-+]+/).filter(Boolean);
  return words.map((w) => w[0].toUpperCase() + w.slice(1)).join(" ") || local;
}

export class Inbox {
  constructor(client, onchange) {
    this.client = client;
    this.onchange = onchange;
    this.conversations = new Map();
    this.messages = new Map();
    this.notes = [];
    this.labels = [];
    this.deviceOwners = new Map();
    this.addedDevices = new Map(); // deviceId -> [account, name] of device_added events
    this.current = null;
    this.filters = { status: "", assignee: "", label: "", waiting: false, search: "" };
    this.stopped = false;
    this.shop = new Shop(this);
    this.mediaUrls = new Map();
    this.onincoming = null; // a customer's message arrived live (notifications)
    this.viewers = new Viewers(client, () => this.changed());
  }

  get business() {
    return this.client.speaksAs;
  }

  api(method, path, body = undefined) {
    return this.client.transport.request(method, `/business${path}`, body);
  }

  async start() {
    await Promise.all([this.loadTeam(), this.loadLabels(), this.loadConversations(), this.loadMessages(), this.shop.load()]);
    this.changed();
  }

  async loadTeam() {
    const entries = await this.client.transport.devices(this.business);
    this.deviceOwners = new Map(entries.map((e) => [e.device_id, e.account ?? this.business]));
  }

  /** Team members (admins and agents with a device), the business's own device excluded. */
  teamMembers() {
    const members = new Set([...this.deviceOwners.values()].filter((a) => a !== this.business));
    members.add(this.client.address);
    return [...members].sort();
  }

  async loadLabels() {
    this.labels = (await this.api("GET", "/labels")).labels;
  }

  async loadConversations() {
    let cursor = null;
    for (let page = 0; page < MAX_PAGES; page++) {
      const answer = await this.client.teamConversationsPage({ limit: 100, cursor });
      for (const c of answer.conversations) this.conversations.set(c.customer, c);
      cursor = answer.nextCursor;
      if (!cursor) break;
    }
  }

  async loadMessages() {
    const rows = await this.client.store.all("messages");
    for (const row of rows) this.addMessage(Message.fromRecord(row));
    for (const list of this.messages.values()) list.sort((a, b) => a.ts - b.ts);
  }

  addMessage(message) {
    const list = this.messages.get(message.peer) ?? [];
    if (list.some((m) => m.messageId === message.messageId)) return false;
    list.push(message);
    if (list.length > 1 && list.at(-2).ts > message.ts) list.sort((a, b) => a.ts - b.ts);
    this.messages.set(message.peer, list);
    return true;
  }

  /** Who wrote a message: the customer, an agent (by their account), the automation. */
  author(message) {
    if (!message.outgoing) return { kind: "customer", name: displayName(message.sender) };
    if (message.senderDevice === this.client.deviceId) return { kind: "me", name: displayName(this.client.address) };
    const owner = this.deviceOwners.get(message.senderDevice);
    if (!owner || owner === this.business) return { kind: "automation", name: null };
    return { kind: "agent", name: displayName(owner) };
  }

  /** The conversations the filters and the search let through, newest first. */
  visible() {
    const f = this.filters;
    const needle = f.search.trim().toLowerCase();
    return [...this.conversations.values()]
      .filter((c) => c.kind !== "private")
      .filter((c) => !f.status || c.status === f.status)
      .filter((c) => !f.assignee || (f.assignee === "none" ? !c.assignee : c.assignee === this.client.address))
      .filter((c) => !f.label || c.labels.some((l) => String(l.label_id) === String(f.label)))
      .filter((c) => !f.waiting || Boolean(c.waiting_since_ms))
      .filter((c) => !needle || this.matches(c, needle))
      .sort((a, b) => b.last_activity_ms - a.last_activity_ms || (a.customer < b.customer ? 1 : -1));
  }

  matches(conversation, needle) {
    if (conversation.customer.toLowerCase().includes(needle)) return true;
    return (this.messages.get(conversation.customer) ?? []).some((m) => searchText(m).toLowerCase().includes(needle));
  }

  lastMessage(customer) {
    return (this.messages.get(customer) ?? []).at(-1) ?? null;
  }

  async open(customer) {
    this.current = customer;
    this.viewers.show(customer);
    this.notes = [];
    this.changed();
    this.notes = (await this.api("GET", `/conversations/${q(customer)}/notes`)).notes;
    await this.shop.loadOrders(customer);
    await this.recordOrders(customer);
    this.changed();
    await this.markRead(customer);
  }

  /** Reading marks read for the whole team and tells the customer's devices. */
  async markRead(customer) {
    if (document.visibilityState === "hidden") return;
    const unread = (this.messages.get(customer) ?? []).filter((m) => !m.outgoing && !m.read);
    const record = this.conversations.get(customer);
    if (!unread.length && !record?.unread) return;
    for (const m of unread) m.read = true;
    if (unread.length) {
      await this.client.store.write(unread.map((m) => ["mark", "messages", m.messageId, "read"]));
      for (let i = 0; i < unread.length; i += RECEIPT_BATCH) {
        const ids = unread.slice(i, i + RECEIPT_BATCH).map((m) => m.messageId);
        await this.client.send(customer, { type: "receipt", receipt: "read", message_ids: ids }, { remember: false });
      }
    }
    this.conversations.set(customer, await this.client.teamMarkRead(customer, unread.length ? unread.at(-1).messageId : null));
    this.changed();
  }

  /** Whether this device records a new order live: the assignee's, else the team's first
  * agent device (any device records what is still unrecorded when it opens the chat). */
  records(customer) {
    const assignee = this.conversations.get(customer)?.assignee;
    if (assignee) return assignee === this.client.address;
    const agents = [...this.deviceOwners].filter(([, owner]) => owner !== this.business).map(([id]) => id).sort();
    return (agents[0] ?? this.client.deviceId) === this.client.deviceId;
  }

  /** Record the conversation's orders the node does not know yet (the first team device does). */
  async recordOrders(customer) {
    for (const m of this.messages.get(customer) ?? []) if (m.type === "order" && !m.outgoing) await this.shop.record(m);
    this.changed();
  }

  async sendProduct(sku) {
    this.addMessage(await this.client.sendProduct(this.current, sku));
    this.changed();
  }

  async sendFile(file) {
    this.addMessage(await this.client.sendMediaFile(this.current, file));
    this.changed();
  }

  async orderStatus(customer, orderId, status) {
    const m = await this.client.sendOrderStatus(customer, orderId, status);
    this.addMessage(m);
    await this.shop.loadOrders(customer);
    this.changed();
  }

  /** The decrypted media of a message as an object URL (kept for the page's life). */
  async mediaUrl(message) {
    if (!this.mediaUrls.has(message.messageId)) {
      this.mediaUrls.set(message.messageId, null);
      this.mediaUrls.set(message.messageId, URL.createObjectURL(await this.client.downloadMedia(message)));
    }
    return this.mediaUrls.get(message.messageId);
  }

  async sendText(text) {
    const message = await this.client.sendText(this.current, text);
    this.addMessage(message);
    this.changed();
  }

  async addNote(text) {
    const note = await this.api("POST", `/conversations/${q(this.current)}/notes`, { text });
    if (!this.notes.some((n) => n.note_id === note.note_id)) this.notes.push(note);
    this.changed();
  }

  async patch(changes) {
    this.conversations.set(this.current, await this.api("PATCH", `/conversations/${q(this.current)}`, changes));
    this.changed();
  }

  async setLabel(labelId, on) {
    const path = `/conversations/${q(this.current)}/labels/${q(labelId)}`;
    const { labels } = await this.api(on ? "PUT" : "DELETE", path);
    const record = this.conversations.get(this.current);
    if (record) this.conversations.set(this.current, { ...record, labels });
    this.changed();
  }

  /** Take events from the device's stream until stopped (a 401 means signed out elsewhere). */
  async listen(onfatal) {
    try {
      for await (const item of this.client.events()) {
        if (this.stopped) return;
        await this.take(item);
      }
    } catch (err) {
      if (!this.stopped) onfatal(err);
    }
  }

  async take(item) {
    if (item instanceof Message) {
      if (item.type !== "text" && !["media", "product", "order", "order_status"].includes(item.type)) return;
      const fresh = this.addMessage(item);
      if (!this.deviceOwners.has(item.senderDevice) && item.outgoing) await this.loadTeam().catch(() => undefined);
      this.changed();
      if (fresh && !item.outgoing && this.conversations.get(item.peer)?.kind !== "private") this.onincoming?.(item);
      if (item.peer === this.current && !item.outgoing) {
        if (item.type === "order" && this.records(item.peer)) await this.shop.record(item);
        await this.markRead(item.peer);
      }
    } else if (item instanceof Receipt) {
      // A customer read the business's messages: one device tells the node (statistics).
      if (item.kind === "read" && item.by !== this.business && this.records(item.by)) await this.client.reportRead(item).catch(() => false);
      const ids = new Set(item.messageIds);
      for (const list of this.messages.values()) for (const m of list) if (ids.has(m.messageId)) m[item.kind === "read" ? "read" : "delivered"] = true;
      this.changed();
    } else if (item instanceof ArchiveEvent) {
      await this.takeArchive(item);
    } else if (item instanceof ConversationEvent) {
      this.conversations.set(item.conversation.customer, item.conversation);
      if (item.change === "order" && item.conversation.customer === this.current) await this.shop.loadOrders(this.current);
      if (item.note && item.conversation.customer === this.current && !this.notes.some((n) => n.note_id === item.note.note_id)) this.notes.push(item.note);
      this.changed();
    }
  }

  /** A team device was added (the settings list it to approve), this device was given
   * the team's history (shown once downloaded), or a customer was erased. */
  async takeArchive(event) {
    if (event.kind === "device_added") {
      this.addedDevices.set(event.deviceId, [event.address, event.name]);
      this.onDeviceAdded?.(event);
    }
    if (event.kind === "history_approved") {
      await this.client.archive.idle();
      await this.loadMessages();
    }
    if (event.kind === "erased") {
      this.messages.clear();
      await this.loadMessages();
    }
    this.changed();
  }

  changed() {
    this.onchange(this);
  }

  stop() {
    this.stopped = true;
    this.viewers.stop();
  }
}

/** The text a message is found by in the search. */
export function searchText(m) {
  const c = m.content;
  return [c.body, c.caption, c.name, c.sku, c.order_id, c.status].filter(Boolean).join(" ");
}
