// Reading the sealed history (node/client/history_pages.py): once approved, a device
// downloads its owner's sealed copies page by page, newest first. Each page's messages
// and the cursor of the page after it are stored in one IndexedDB transaction, so an
// interrupted download (the page closed, the node unreachable) resumes where it stopped,
// and a message already stored (by id) is never stored twice.
import { b64decode } from "./crypto/bytes.js";
import { loadsStrict, encodeCanonical } from "./crypto/canonicaljson.js";
import { CryptoError } from "./crypto/errors.js";
import * as sealing from "./crypto/history.js";
import { check } from "./content.js";
import { ApiError, ClientError, ContentError } from "./errors.js";
import { withLock } from "./locks.js";
import { Message } from "./receive.js";
import { Batch } from "./store.js";

export const DOWNLOAD = "history_download"; // {next: cursor or null, pages, added, done}
const PAGE = 200;

const MAX_LIMIT = 200;
const fresh = () => ({ next: null, pages: 0, added: 0, done: false });
const isOlder = (m, [ts, id]) => m.ts < ts || (m.ts === ts && m.messageId < id);
const cursorOf = (m) => `${m.ts}.${m.messageId}`;

/** [ts, message id] of a cursor "<ts>.<message id>"; ClientError when it is not one. */
export function parseCursor(cursor) {
  const dot = cursor.indexOf(".");
  const ts = cursor.slice(0, dot);
  if (dot < 1 || !/^[0-9]+$/.test(ts) || dot === cursor.length - 1) throw new ClientError(`not a history cursor: ${JSON.stringify(cursor)}`);
  return [Number(ts), cursor.slice(dot + 1)];
}

/** The reading half of `client.archive` (`archive.reader`). */
export class Reader {
  constructor(archive) {
    this.archive = archive;
    /** Called after each page with (pages so far, messages added so far). */
    this.progress = null;
  }

  get store() {
    return this.archive.store;
  }

  /** This device was just approved: a download is due (kept in the store). */
  async begin(batch) {
    if ((await batch.getJson("kv", DOWNLOAD)) === null) batch.putJson("kv", DOWNLOAD, fresh());
  }

  /** Whether a download was begun and has not reached the oldest copy yet. */
  async due() {
    const state = await this.store.getJson("kv", DOWNLOAD);
    return Boolean(state) && !state.done;
  }

  /** Fetch the owner's copies page by page from where a download stopped (or, once one
   * finished, afresh), open them and add them to the local history; how many were new. */
  async download({ maxPages = 1000 } = {}) {
    let state = await this.store.getJson("kv", DOWNLOAD);
    if (!state || state.done) state = fresh();
    let added = 0;
    for (let i = 0; i < maxPages; i++) {
      const params = { limit: PAGE };
      if (state.next) params.before = state.next;
      const page = await this.archive.client.transport.request("GET", "/history/items", undefined, params);
      const keys = await this.archive.keys();
      const before = state;
      await withLock(this.archive.client.lockName, async () => {
        const batch = new Batch(this.store);
        const items = Array.isArray(page.items) ? page.items : [];
        let n = 0;
        for (const item of items) n += await this.openItem(batch, keys, item);
        state = { next: page.next ?? null, pages: before.pages + 1, added: before.added + n, done: !page.next };
        batch.putJson("kv", DOWNLOAD, state); // the page and the cursor after it, together
        await batch.commit();
        added += n;
      });
      if (this.progress) this.progress(state.pages, state.added);
      if (state.done) break;
    }
    return added;
  }

  /** Up to `limit` messages with `peer` before the cursor `before` (null: the newest),
   * oldest first, and `next` (null at the conversation's start); from the node's copies
   * of that conversation where the local store has none older. */
  async page(peer, before = null, limit = 50) {
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) throw new ClientError(`limit is 1 to ${MAX_LIMIT}`);
    const cursor = before === null ? null : parseCursor(before);
    let rows = await this.local(peer, cursor, limit);
    if (rows.length < limit && (await this.archive.keys()).size) {
      const edge = rows.length ? cursorOf(rows[rows.length - 1]) : before;
      const params = { conversation: peer, limit: limit - rows.length };
      if (edge !== null) params.before = edge;
      try {
        const got = await this.archive.client.transport.request("GET", "/history/items", undefined, params);
        const keys = await this.archive.keys();
        await withLock(this.archive.client.lockName, async () => {
          const batch = new Batch(this.store);
          for (const item of Array.isArray(got.items) ? got.items : []) await this.openItem(batch, keys, item);
          await batch.commit();
        });
      } catch (err) {
        if (!(err instanceof ApiError && err.code === "NOT_APPROVED")) throw err;
      }
      rows = await this.local(peer, cursor, limit);
    }
    const messages = rows.reverse();
    return { messages, next: messages.length === limit ? cursorOf(messages[0]) : null };
  }

  /** The stored messages with `peer` before `cursor`, newest first, at most `limit`. */
  async local(peer, cursor, limit) {
    const all = (await this.store.all("messages", "peer", peer)).map((r) => Message.fromRecord(r));
    const older = cursor === null ? all : all.filter((m) => isOlder(m, cursor));
    older.sort((a, b) => b.ts - a.ts || (a.messageId < b.messageId ? 1 : a.messageId > b.messageId ? -1 : 0));
    return older.slice(0, limit);
  }

  /** Open, check and store one copy (1 when it was new); a bad copy is skipped. */
  async openItem(batch, keys, item) {
    let record;
    try {
      record = this.opened(keys, item);
    } catch (err) {
      if (!(err instanceof CryptoError || err instanceof ClientError || err instanceof TypeError)) throw err;
      return 0;
    }
    if ((await batch.getBytes("messages", record.message_id)) !== null) return 0;
    const message = new Message(record.message_id, record.sender, record.sender_device, record.to, record.peer, record.ts, record.content, Boolean(record.outgoing));
    // (from before this device: not "unread" here)
    batch.ops.push(["put", "messages", message.messageId, { ...message.record(this.store), read: !message.outgoing }]);
    batch.pending.set(`messages\0${message.messageId}`, new Uint8Array(1));
    return 1;
  }

  /** The record of a copy, checked against the item (crypto.md §11). */
  opened(keys, item) {
    const sealed = b64decode(item.sealed);
    const key = keys.get(sealing.epochOf(sealed));
    if (!key) throw new ContentError(`no key for epoch ${sealing.epochOf(sealed)}`);
    const record = loadsStrict(sealing.openSealed(key, this.archive.owner, item.item_id, item.conversation, item.ts, sealed));
    const content = loadsStrict(encodeCanonical(record.content)); // (a plain copy)
    check(content);
    if (record.message_id !== item.item_id || record.peer !== item.conversation || record.ts !== item.ts || content.from !== record.sender || content.to !== record.to) {
      throw new ContentError("the copy names another message");
    }
    return { ...record, content };
  }
}
