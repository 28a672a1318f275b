// The Double Ratchet with XChaCha20-Poly1305, the same construction, limits, state rules
// and serialisation as crypto/ratchet.py (docs/crypto.md §6). Decryption is
// transactional: the state changes only after the AEAD accepted the message.
import { sodium } from "./sodium.js";
import { concat, equal, hex, readU16, readU32, u16, u32, utf8 } from "./bytes.js";
import { DecryptionError, DuplicateMessage, InvalidKey, SessionStateError, TooManySkipped } from "./errors.js";
import { hkdf, hmacSha256 } from "./kdf.js";
import { KEY_SIZE, X25519Key, x25519 } from "./keys.js";

export const VERSION = 1;
export const HEADER_SIZE = 41;
export const TAG_SIZE = 16;
export const MAX_SKIP = 1000;
export const MAX_SKIPPED_KEYS = 2000;
export const MAX_PREVIOUS_CHAINS = 64;
export const MAX_COUNTER = 2 ** 32 - 1;
const MAX_AD_SIZE = 1024;
const ROOT_INFO = utf8("Kontor Ratchet v1 root");
const MESSAGE_INFO = utf8("Kontor Ratchet v1 message");
const ZERO_SALT = new Uint8Array(32);
const ONE = Uint8Array.of(1);
const TWO = Uint8Array.of(2);
const STATE_VERSION = 1;

/** KDF_RK -> [root key, chain key]. */
export function kdfRk(rootKey, dhOutput) {
  const out = hkdf(dhOutput, rootKey, ROOT_INFO, 64);
  return [out.slice(0, 32), out.slice(32)];
}

/** KDF_CK -> [message key, next chain key]. */
export function kdfCk(chainKey) {
  return [hmacSha256(chainKey, ONE), hmacSha256(chainKey, TWO)];
}

/** Message key -> [AEAD key (32), nonce (24)]. */
export function messageKeys(mk) {
  const out = hkdf(mk, ZERO_SALT, MESSAGE_INFO, 56);
  return [out.slice(0, 32), out.slice(32)];
}

function header(dh, pn, n) {
  return concat(Uint8Array.of(VERSION), dh, u32(pn), u32(n));
}

function open(mk, ciphertext, ad) {
  const [key, nonce] = messageKeys(mk);
  try {
    return sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, ciphertext, ad, nonce, key);
  } catch {
    throw new DecryptionError("message altered, truncated or not for this session");
  }
}

function skip(chainKey, start, until) {
  if (until - start > MAX_SKIP) throw new TooManySkipped(`message would skip ${until - start} keys (limit ${MAX_SKIP})`);
  const keys = [];
  for (let i = start; i < until; i++) {
    keys.push(hmacSha256(chainKey, ONE));
    chainKey = hmacSha256(chainKey, TWO);
  }
  return [keys, chainKey];
}

const skippedKey = (dh, n) => `${hex(dh)}:${n}`;

/** One side of a Double Ratchet conversation. */
export class Ratchet {
  constructor(ad, dhs, dhr, rk, cks, ckr, ns = 0, nr = 0, pn = 0) {
    Object.assign(this, { ad, dhs, dhr, rk, cks, ckr, ns, nr, pn });
    this.skipped = new Map(); // "hex(dh):n" -> [dh, n, mk], oldest first
    this.previous = new Map(); // hex(dh) -> [dh, length]
  }

  static initiator(secret, ad, remoteRatchetKey, ratchetKey = undefined) {
    const dhs = ratchetKey ?? X25519Key.generate();
    const [rk, cks] = kdfRk(secret, dhs.exchange(remoteRatchetKey));
    return new Ratchet(ad, dhs, remoteRatchetKey, rk, cks, null);
  }

  static responder(secret, ad, ratchetKey) {
    return new Ratchet(ad, ratchetKey, null, secret, null, null);
  }

  /** header || ciphertext; `ratchetKey` is used only when a new sending chain starts. */
  encrypt(plaintext, ratchetKey = undefined) {
    if (this.cks === null) {
      if (this.dhr === null) throw new SessionStateError("cannot send before the first message is received");
      const fresh = ratchetKey ?? X25519Key.generate();
      [this.rk, this.cks] = kdfRk(this.rk, fresh.exchange(this.dhr));
      this.dhs = fresh;
    }
    if (this.ns >= MAX_COUNTER) throw new SessionStateError("sending chain exhausted");
    const [mk, next] = kdfCk(this.cks);
    this.cks = next;
    const head = header(this.dhs.publicKey, this.pn, this.ns);
    this.ns += 1;
    const [key, nonce] = messageKeys(mk);
    return concat(head, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(plaintext, concat(this.ad, head), null, nonce, key));
  }

  /** The plaintext of header || ciphertext; the state changes only on success. */
  decrypt(message) {
    if (!(message instanceof Uint8Array) || message.length < HEADER_SIZE + TAG_SIZE) throw new DecryptionError("message too short");
    if (message[0] !== VERSION) throw new DecryptionError(`unknown ratchet header version ${message[0]}`);
    const dh = message.slice(1, 33);
    const pn = readU32(message, 33);
    const n = readU32(message, 37);
    const ad = concat(this.ad, message.subarray(0, HEADER_SIZE));
    const ciphertext = message.subarray(HEADER_SIZE);
    const id = skippedKey(dh, n);
    const stored = this.skipped.get(id);
    if (stored !== undefined) {
      const plaintext = open(stored[2], ciphertext, ad);
      this.skipped.delete(id);
      return plaintext;
    }
    if (this.dhr !== null && equal(dh, this.dhr)) return this.decryptCurrent(dh, n, ciphertext, ad);
    const known = this.previous.get(hex(dh));
    if (known !== undefined) {
      if (n < known[1]) throw new DuplicateMessage("message key already used");
      throw new DecryptionError("message beyond the end of a finished chain");
    }
    return this.decryptNewChain(dh, pn, n, ciphertext, ad);
  }

  decryptCurrent(dh, n, ciphertext, ad) {
    if (this.ckr === null) throw new DecryptionError("no receiving chain for this ratchet key");
    if (n < this.nr) throw new DuplicateMessage("message key already used");
    const [skipped, chainKey] = skip(this.ckr, this.nr, n);
    const plaintext = open(hmacSha256(chainKey, ONE), ciphertext, ad);
    this.ckr = hmacSha256(chainKey, TWO);
    this.store(dh, this.nr, skipped);
    this.nr = n + 1;
    return plaintext;
  }

  decryptNewChain(dh, pn, n, ciphertext, ad) {
    let oldSkipped = [];
    if (this.ckr !== null) [oldSkipped] = skip(this.ckr, this.nr, pn);
    let rk, chainKey;
    try {
      [rk, chainKey] = kdfRk(this.rk, x25519(this.dhs.private, dh));
    } catch (err) {
      if (err instanceof InvalidKey) throw new DecryptionError("bad ratchet key in header");
      throw err;
    }
    let newSkipped;
    [newSkipped, chainKey] = skip(chainKey, 0, n);
    const plaintext = open(hmacSha256(chainKey, ONE), ciphertext, ad);
    if (this.dhr !== null && this.ckr !== null) {
      this.store(this.dhr, this.nr, oldSkipped);
      this.remember(this.dhr, Math.max(pn, this.nr));
    }
    this.store(dh, 0, newSkipped);
    this.dhr = dh;
    this.rk = rk;
    this.ckr = hmacSha256(chainKey, TWO);
    this.nr = n + 1;
    this.pn = this.ns;
    this.ns = 0;
    this.cks = null;
    return plaintext;
  }

  store(dh, start, keys) {
    keys.forEach((mk, offset) => {
      const id = skippedKey(dh, start + offset);
      this.skipped.set(id, [dh, start + offset, mk]);
    });
    while (this.skipped.size > MAX_SKIPPED_KEYS) this.skipped.delete(this.skipped.keys().next().value);
  }

  remember(dh, length) {
    const id = hex(dh);
    const had = this.previous.get(id);
    this.previous.set(id, [dh, length]);
    if (had !== undefined) return;
    while (this.previous.size > MAX_PREVIOUS_CHAINS) this.previous.delete(this.previous.keys().next().value);
  }

  /** The serialisation of crypto/ratchet.py's Ratchet.to_bytes (secret). */
  toBytes() {
    const flags = (this.dhr !== null ? 1 : 0) | (this.cks !== null ? 2 : 0) | (this.ckr !== null ? 4 : 0);
    const parts = [Uint8Array.of(STATE_VERSION, flags), u32(this.ns), u32(this.nr), u32(this.pn), u16(this.ad.length), this.ad, this.dhs.private, this.rk];
    for (const value of [this.dhr, this.cks, this.ckr]) if (value !== null) parts.push(value);
    parts.push(u16(this.previous.size));
    for (const [dh, length] of this.previous.values()) parts.push(dh, u32(length));
    parts.push(u16(this.skipped.size));
    for (const [dh, n, mk] of this.skipped.values()) parts.push(dh, u32(n), mk);
    return concat(...parts);
  }

  /** Inverse of toBytes; throws SessionStateError for anything malformed. */
  static fromBytes(data) {
    let pos = 0;
    const take = (size) => {
      if (pos + size > data.length) throw new SessionStateError("ratchet state truncated");
      pos += size;
      return data.slice(pos - size, pos);
    };
    if (!(data instanceof Uint8Array)) throw new SessionStateError("ratchet state must be bytes");
    const head = take(16);
    const [version, flags] = head;
    const adLen = readU16(head, 14);
    if (version !== STATE_VERSION || flags > 7 || adLen > MAX_AD_SIZE) throw new SessionStateError("unknown ratchet state version or flags");
    const ad = take(adLen);
    const dhs = new X25519Key(take(KEY_SIZE));
    const rk = take(KEY_SIZE);
    const [dhr, cks, ckr] = [1, 2, 4].map((bit) => (flags & bit ? take(KEY_SIZE) : null));
    if (ckr !== null && dhr === null) throw new SessionStateError("receiving chain without a ratchet key");
    const ratchet = new Ratchet(ad, dhs, dhr, rk, cks, ckr, readU32(head, 2), readU32(head, 6), readU32(head, 10));
    let count = readU16(take(2), 0);
    if (count > MAX_PREVIOUS_CHAINS) throw new SessionStateError("too many previous chains");
    for (let i = 0; i < count; i++) {
      const dh = take(KEY_SIZE);
      ratchet.previous.set(hex(dh), [dh, readU32(take(4), 0)]);
    }
    count = readU16(take(2), 0);
    if (count > MAX_SKIPPED_KEYS) throw new SessionStateError("too many skipped keys");
    for (let i = 0; i < count; i++) {
      const dh = take(KEY_SIZE);
      const n = readU32(take(4), 0);
      ratchet.skipped.set(skippedKey(dh, n), [dh, n, take(KEY_SIZE)]);
    }
    if (pos !== data.length) throw new SessionStateError("trailing bytes after ratchet state");
    return ratchet;
  }
}
