// The Client's media (node/client/media.py): files encrypted as a stream while they are
// read, uploaded, their key sent in a message; downloads checked and decrypted as they come.
import { CryptoError } from "./crypto/errors.js";
import { MediaDecryptor, MediaEncryptor, MediaKey } from "./crypto/media.js";
import { ContentError, VerificationError } from "./errors.js";
import { serverOf } from "./names.js";

const MAX_MEDIA = 2 * 1024 * 1024 * 1024;
const READ_SIZE = 256 * 1024;

/** Mixed into Client: media messages. */
export class Media {
  /** Encrypt a Blob or File (read in 256 KiB slices), upload it, send its key. With the
   * `txnId` of a send whose answer was lost, that send is sent again (no new upload). */
  async sendMediaFile(to, file, { name = undefined, mime = undefined, caption = "", txnId = null } = {}) {
    if (txnId !== null && (await this.sendPending(txnId))) return this.send(to, { type: "media" }, { txnId });
    if (file.size > MAX_MEDIA) throw new ContentError("media is limited to 2 GiB");
    const enc = new MediaEncryptor();
    const parts = [];
    for (let offset = 0; offset < file.size; offset += READ_SIZE) {
      const piece = new Uint8Array(await file.slice(offset, offset + READ_SIZE).arrayBuffer());
      parts.push(new Blob(enc.push(piece)));
    }
    parts.push(new Blob(enc.finish()));
    const uploaded = await this.transport.uploadMedia(new Blob(parts, { type: "application/octet-stream" }));
    const key = enc.mediaKey();
    if (uploaded.media_id !== key.mediaId) throw new VerificationError("the node stored the media under another hash");
    return this.send(to, {
      type: "media", media_id: uploaded.media_id, server: serverOf(this.address), ...key.toJSON(),
      name: name ?? file.name ?? "", mime: mime ?? (file.type || "application/octet-stream"), caption,
    }, { txnId });
  }

  /** Like sendMediaFile for bytes. */
  sendMedia(to, data, options = {}) {
    return this.sendMediaFile(to, new Blob([data]), options);
  }

  /** [MediaKey, server to fetch from or null] of a media message. */
  mediaKey(message) {
    const c = message.content;
    if (message.type !== "media") throw new ContentError("this message carries no media");
    let key;
    try {
      key = MediaKey.fromJSON({ alg: c.alg, key: c.key, sha256: c.sha256, size: c.size });
    } catch (err) {
      if (err instanceof CryptoError) throw new ContentError(`bad media reference: ${err.message}`);
      throw err;
    }
    if (key.mediaId !== c.media_id) throw new VerificationError("the media id does not match the media's hash");
    const server = c.server ?? serverOf(message.sender);
    if (server !== serverOf(message.sender)) throw new VerificationError("the media is not on its sender's server");
    return [key, server === serverOf(this.address) ? null : server];
  }

  /** Plaintext pieces of a message's media as they are downloaded and checked. */
  async *mediaChunks(message) {
    const [key, server] = this.mediaKey(message);
    const resp = await this.transport.downloadMedia(message.content.media_id, server);
    const reader = resp.body.getReader();
    const dec = new MediaDecryptor(key);
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        yield* dec.update(value);
      }
      yield* dec.finish();
    } catch (err) {
      if (err instanceof CryptoError) throw new VerificationError(`media does not check: ${err.message}`);
      throw err;
    } finally {
      reader.releaseLock();
    }
  }

  /** The whole checked and decrypted media of a message, as a Blob. */
  async downloadMedia(message) {
    const parts = [];
    for await (const piece of this.mediaChunks(message)) parts.push(new Blob([piece]));
    return new Blob(parts, { type: message.content.mime || "application/octet-stream" });
  }
}
