// Streaming media encryption with libsodium's secretstream, as crypto/media.py
// (docs/crypto.md §9): 64 KiB chunks, FINAL on the last, SHA-256 of the ciphertext.
import { sodium } from "./sodium.js";
import { b64decode, b64encode, concat, equal, randomBytes } from "./bytes.js";
import { CryptoError, MediaError } from "./errors.js";

export const ALGORITHM = "secretstream-xchacha20poly1305-64k-v1";
export const CHUNK_SIZE = 65536;
export const ABYTES = 17;
export const HEADER_SIZE = 24;
export const KEY_SIZE = 32;
export const ENCRYPTED_CHUNK_SIZE = CHUNK_SIZE + ABYTES;
const MAX_SIZE = Number.MAX_SAFE_INTEGER;

export function ciphertextSize(size) {
  return HEADER_SIZE + size + ABYTES * Math.max(1, Math.ceil(size / CHUNK_SIZE));
}

/** What a message carries to fetch, check and decrypt a media. */
export class MediaKey {
  constructor(key, sha256, size) {
    Object.assign(this, { key, sha256, size });
  }

  get ciphertextSize() {
    return ciphertextSize(this.size);
  }

  get mediaId() {
    return b64encode(this.sha256);
  }

  toJSON() {
    return { alg: ALGORITHM, key: b64encode(this.key), sha256: b64encode(this.sha256), size: this.size };
  }

  static fromJSON(obj) {
    const fields = ["alg", "key", "sha256", "size"];
    if (obj === null || typeof obj !== "object" || Object.keys(obj).length !== 4 || !fields.every((f) => Object.hasOwn(obj, f))) {
      throw new MediaError("media key must be {alg, key, sha256, size}");
    }
    if (obj.alg !== ALGORITHM) throw new MediaError(`unknown media algorithm ${JSON.stringify(obj.alg)}`);
    if (!Number.isSafeInteger(obj.size) || obj.size < 0 || obj.size > MAX_SIZE) throw new MediaError("media size must be a non-negative integer");
    try {
      return new MediaKey(b64decode(obj.key, KEY_SIZE), b64decode(obj.sha256, 32), obj.size);
    } catch (err) {
      if (err instanceof CryptoError) throw new MediaError(`bad media key: ${err.message}`);
      throw err;
    }
  }
}

/**
 * Encrypts pieces of any sizes: `push(piece)` and `finish()` return the ciphertext parts
 * to send (the first call's output starts with the header); `mediaKey()` after finish.
 */
export class MediaEncryptor {
  constructor(key = undefined) {
    this.key = key ?? randomBytes(KEY_SIZE);
    if (!(this.key instanceof Uint8Array) || this.key.length !== KEY_SIZE) throw new MediaError(`media key must be ${KEY_SIZE} bytes`);
    const { state, header } = sodium.crypto_secretstream_xchacha20poly1305_init_push(this.key);
    this.state = state;
    this.hash = sodium.crypto_hash_sha256_init();
    this.buffer = new Uint8Array(0);
    this.size = 0;
    this.finished = false;
    this.digest = null;
    this.pending = [this.out(header)];
  }

  out(part) {
    sodium.crypto_hash_sha256_update(this.hash, part);
    return part;
  }

  seal(chunk, final) {
    const tag = final ? sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL : sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
    return this.out(sodium.crypto_secretstream_xchacha20poly1305_push(this.state, chunk, null, tag));
  }

  /** Encrypted parts for the next plaintext piece (full chunks only; the rest waits). */
  push(piece) {
    if (this.finished) throw new MediaError("stream already finished");
    this.size += piece.length;
    const parts = this.pending;
    this.pending = [];
    let data = this.buffer.length ? concat(this.buffer, piece) : piece;
    let pos = 0;
    while (data.length - pos > CHUNK_SIZE) {
      parts.push(this.seal(data.subarray(pos, pos + CHUNK_SIZE), false));
      pos += CHUNK_SIZE;
    }
    this.buffer = data.slice(pos);
    return parts;
  }

  /** The last encrypted parts (the FINAL chunk). */
  finish() {
    if (this.finished) throw new MediaError("stream already finished");
    const parts = this.pending;
    this.pending = [];
    parts.push(this.seal(this.buffer, true));
    this.finished = true;
    this.digest = sodium.crypto_hash_sha256_final(this.hash);
    return parts;
  }

  mediaKey() {
    if (!this.finished) throw new MediaError("media key is known only after the whole stream is read");
    return new MediaKey(this.key, this.digest, this.size);
  }
}

/** Decrypts ciphertext pieces of any sizes, checking tags, size and hash (MediaError). */
export class MediaDecryptor {
  constructor(mediaKey) {
    this.mediaKey = mediaKey;
    this.hash = sodium.crypto_hash_sha256_init();
    this.total = 0;
    this.buffer = new Uint8Array(0);
    this.state = null;
    this.finished = false;
  }

  pull(piece) {
    if (this.finished) throw new MediaError("data after the final chunk");
    if (!(piece.length >= ABYTES && piece.length <= ENCRYPTED_CHUNK_SIZE)) throw new MediaError("encrypted chunk has an impossible size");
    const result = sodium.crypto_secretstream_xchacha20poly1305_pull(this.state, piece, null);
    if (!result) throw new MediaError("media chunk altered or out of order");
    if (result.tag === sodium.crypto_secretstream_xchacha20poly1305_TAG_FINAL) this.finished = true;
    else if (result.tag !== sodium.crypto_secretstream_xchacha20poly1305_TAG_MESSAGE || result.message.length !== CHUNK_SIZE) {
      throw new MediaError("media stream truncated or malformed");
    }
    return result.message;
  }

  /** Plaintext of the complete pieces in `data` (the rest is kept for later). */
  update(data) {
    sodium.crypto_hash_sha256_update(this.hash, data);
    this.total += data.length;
    if (this.total > this.mediaKey.ciphertextSize) throw new MediaError("media longer than its key says");
    let buf = this.buffer.length ? concat(this.buffer, data) : data;
    let pos = 0;
    const out = [];
    if (this.state === null) {
      if (buf.length < HEADER_SIZE) {
        this.buffer = buf.slice();
        return out;
      }
      this.state = sodium.crypto_secretstream_xchacha20poly1305_init_pull(buf.subarray(0, HEADER_SIZE), this.mediaKey.key);
      pos = HEADER_SIZE;
    }
    while (buf.length - pos >= ENCRYPTED_CHUNK_SIZE) {
      out.push(this.pull(buf.subarray(pos, pos + ENCRYPTED_CHUNK_SIZE)));
      pos += ENCRYPTED_CHUNK_SIZE;
    }
    this.buffer = buf.slice(pos);
    return out;
  }

  /** The last plaintext; checks FINAL, size and hash. */
  finish() {
    const out = [];
    if (this.state === null) throw new MediaError("media truncated before its header ended");
    if (this.buffer.length) out.push(this.pull(this.buffer));
    this.buffer = new Uint8Array(0);
    if (!this.finished) throw new MediaError("media stream truncated (no final chunk)");
    const digest = sodium.crypto_hash_sha256_final(this.hash);
    if (this.total !== this.mediaKey.ciphertextSize || !equal(digest, this.mediaKey.sha256)) throw new MediaError("media hash or size mismatch");
    return out;
  }
}

/** [ciphertext, MediaKey] of a whole media in memory. */
export function encryptMedia(data, key = undefined) {
  const enc = new MediaEncryptor(key);
  const parts = [...enc.push(data), ...enc.finish()];
  return [concat(...parts), enc.mediaKey()];
}

/** Check size and SHA-256 of the whole ciphertext, then decrypt it (MediaError). */
export function decryptMedia(data, mediaKey) {
  if (data.length !== mediaKey.ciphertextSize) throw new MediaError("media size mismatch");
  if (!equal(sodium.crypto_hash_sha256(data), mediaKey.sha256)) throw new MediaError("media hash mismatch");
  const dec = new MediaDecryptor(mediaKey);
  return concat(...dec.update(data), ...dec.finish());
}
