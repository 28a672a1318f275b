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
import { ClientError, ContentError } from "./errors.js";
import { withLock } from "./locks.js";
import { Message } from "./receive.js";
import { Batch } from "./store.js";

export const DOWNLOAD = "history_download"; // {next: cursor or null, pages, added, done}
const PAGE = 200;

const fresh = () => ({ next: null, pages: 0, added: 0, done: false });

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
