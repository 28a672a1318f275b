// What a team member's device does beside chatting (node/client/team.py): the team's
// conversation list, order status changes, quick replies filled in on the device, and
// the reports a team device makes to its business node about what customers' apps sent
// end to end, which the node cannot see: orders (`recordOrder`, priced by the node from
// its catalog) and read receipts (`reportRead`, for its statistics). Reporting is
// explicit: an app calls `report(event)` for the events it receives.
import { expandQuickReply } from "./content.js";
import { ApiError, ClientError } from "./errors.js";
import { Message, Receipt } from "./receive.js";

const path = (customer) => `/business/conversations/${encodeURIComponent(customer)}`;

/** The team's calls (admins and agents). Mixed into Client (client.js). */
export class Team {
  /** (Team) The business's conversations, newest activity first; filters: status, label, assignee, kind, limit, cursor. */
  async teamConversations(filters = {}) {
    return (await this.teamConversationsPage(filters)).conversations;
  }

  /** (Team) One page of the conversation list: {conversations, nextCursor} (null on the last page; pass it as `cursor`). */
  async teamConversationsPage(filters = {}) {
    const params = Object.fromEntries(Object.entries(filters).filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, String(v)]));
    const answer = await this.transport.request("GET", "/business/conversations", undefined, params);
    return { conversations: answer.conversations, nextCursor: answer.next_cursor ?? null };
  }

  /** (Team) Mark the customer's messages read for the whole team (up to `messageId`, else all). */
  teamMarkRead(customer, messageId = null) {
    return this.transport.request("POST", `${path(customer)}/read`, messageId === null ? {} : { message_id: messageId });
  }

  /**
   * (Team) Tell the team's other devices that this one shows (`true`) or left (`false`)
   * the conversation with `customer`; repeat within `expires_ms` while it stays open. They
   * hear it on their WebSocket as `client.onViewing({conversation, account, deviceId,
   * viewing, expiresMs})`; nothing is stored.
   */
  announceViewing(customer, viewing) {
    return this.transport.request("POST", `${path(customer)}/viewing`, { viewing: Boolean(viewing) });
  }

  /** (Team) Move an order to `status` on the business node and tell the customer. */
  async sendOrderStatus(customer, orderId, status) {
    await this.transport.request("PATCH", `/business/orders/${encodeURIComponent(orderId)}`, { status });
    return this.send(customer, { type: "order_status", order_id: orderId, status });
  }

  /** (Team) The business's quick replies: {shortcut: text with placeholders}. */
  async quickReplies() {
    const answer = await this.transport.request("GET", "/business/quick-replies");
    const items = Array.isArray(answer) ? answer : answer.quick_replies ?? [];
    return Object.fromEntries(items.map((q) => [q.shortcut, q.text]));
  }

  /** (Team) Send the quick reply `shortcut` with its placeholders filled in. */
  async sendQuickReply(to, shortcut, values = {}) {
    const replies = await this.quickReplies();
    if (!(shortcut in replies) && `/${shortcut}` in replies) shortcut = `/${shortcut}`;
    if (!(shortcut in replies)) throw new ClientError(`no quick reply ${JSON.stringify(shortcut)}; known: ${Object.keys(replies).join(", ")}`);
    return this.sendText(to, expandQuickReply(replies[shortcut], values));
  }

  /**
   * (Team) Record a customer's order message on the business node, which prices it from
   * its catalog; the order (also when another team device recorded it first). ApiError
   * 409 ORDER_ID_TAKEN when another customer holds that id.
   */
  async recordOrder(message) {
    const order = message.content;
    if (message.type !== "order") throw new ClientError("this message is no order");
    const body = { conversation: message.sender, order_id: order.order_id, items: order.items.map((i) => ({ sku: i.sku, quantity: i.quantity })) };
    for (const key of ["total_minor", "currency"]) if (order[key] !== undefined && order[key] !== null) body[key] = order[key];
    try {
      return await this.transport.request("POST", "/business/orders", body);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== "ORDER_EXISTS") throw err;
    }
    const existing = await this.transport.request("GET", `/business/orders/${encodeURIComponent(order.order_id)}`);
    if (existing.conversation !== message.sender) throw new ApiError(409, "ORDER_ID_TAKEN", `order id ${order.order_id} is taken`);
    return existing;
  }

  /** (Team) Tell the business node that a customer read the business's messages (for its statistics); false when the receipt is for nothing this device sent them. */
  async reportRead(receipt) {
    let upTo = null;
    for (const id of receipt.messageIds) {
      const row = await this.store.get("messages", id);
      if (row && row.peer === receipt.by && row.outgoing && (upTo === null || row.ts > upTo)) upTo = row.ts;
    }
    if (upTo === null) return false;
    await this.transport.request("POST", `${path(receipt.by)}/customer-read`, { up_to_ms: upTo });
    return true;
  }

  /** (Team) Report what the business node should know of a received event: a customer's order (recorded; the order) or read receipt ({readReported}); otherwise null. */
  async report(event) {
    const business = this.speaksAs;
    if (business === this.address) return null; // not a team device
    if (event instanceof Message && event.type === "order" && !event.outgoing && event.to === business) return this.recordOrder(event);
    if (event instanceof Receipt && event.kind === "read" && event.by !== business) return { readReported: await this.reportRead(event) };
    return null;
  }
}
