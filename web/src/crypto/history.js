// Sealed history copies (crypto/history.py, docs/crypto.md §11): a message record sealed
// to an owner's history key of one epoch, bound to where the node keeps it.
//
//   sealed = 0x01 || epoch (u32) || nonce (24) || XChaCha20-Poly1305(key, nonce, pad(record), aad)
//   aad    = "Kontor history v1" || str16(owner) || str16(item_id) || str16(conversation)
//            || ts (u64) || epoch (u32)
import { concat, readU32, randomBytes, u16, u32, utf8 } from "./bytes.js";
import { DecryptionError, HistoryError } from "./errors.js";
import { sodium } from "./sodium.js";

export const VERSION = 0x01;
export const KEY_SIZE = 32;
export const NONCE_SIZE = 24;
export const HEADER_SIZE = 1 + 4 + NONCE_SIZE;
export const OVERHEAD = HEADER_SIZE + 16;
export const PAD_BLOCK = 64;
export const MAX_RECORD = 64 * 1024;
const LABEL = utf8("Kontor history v1");

/** A fresh history key (32 random bytes). */
export function newKey() {
  return randomBytes(KEY_SIZE);
}

function str16(text) {
  const data = utf8(text);
  if (data.length > 0xffff) throw new HistoryError("a field of the associated data is too long");
  return concat(u16(data.length), data);
}

/** What a sealed copy is bound to. */
export function associatedData(owner, itemId, conversation, ts, epoch) {
  if (!Number.isSafeInteger(ts) || ts < 0 || !Number.isInteger(epoch) || epoch < 1 || epoch >= 2 ** 32) {
    throw new HistoryError("ts or epoch out of range");
  }
  const time = new Uint8Array(8);
  new DataView(time.buffer).setBigUint64(0, BigInt(ts));
  return concat(LABEL, str16(owner), str16(itemId), str16(conversation), time, u32(epoch));
}

/** ISO/IEC 7816-4 padding to a multiple of 64 bytes. */
export function pad(data) {
  const out = new Uint8Array((Math.floor(data.length / PAD_BLOCK) + 1) * PAD_BLOCK);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

/** Undo pad; HistoryError when the padding is wrong. */
export function unpad(data) {
  if (data.length % PAD_BLOCK) throw new HistoryError("a sealed record is not a multiple of 64 bytes");
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  if (end === 0 || data[end - 1] !== 0x80) throw new HistoryError("bad padding");
  return data.subarray(0, end - 1);
}

/** Seal record (the canonical JSON of a message); nonce is random unless given (vectors only). */
export function seal(key, epoch, owner, itemId, conversation, ts, record, nonce = undefined) {
  if (key.length !== KEY_SIZE) throw new HistoryError("a history key is 32 bytes");
  if (record.length > MAX_RECORD) throw new HistoryError("a history record is at most 64 KiB");
  if (nonce !== undefined && nonce.length !== NONCE_SIZE) throw new HistoryError("a history nonce is 24 bytes");
  const aad = associatedData(owner, itemId, conversation, ts, epoch);
  const n = nonce ?? randomBytes(NONCE_SIZE);
  const header = concat(Uint8Array.of(VERSION), u32(epoch), n);
  return concat(header, sodium.crypto_aead_xchacha20poly1305_ietf_encrypt(pad(record), aad, null, n, key));
}

/** The epoch a sealed copy names; HistoryError when malformed. */
export function epochOf(sealed) {
  if (sealed.length < OVERHEAD || sealed[0] !== VERSION) throw new HistoryError("not a sealed history copy of version 1");
  return readU32(sealed, 1);
}

/** The record inside sealed; DecryptionError when it was altered or moved. */
export function openSealed(key, owner, itemId, conversation, ts, sealed) {
  const epoch = epochOf(sealed);
  if (key.length !== KEY_SIZE) throw new HistoryError("a history key is 32 bytes");
  const aad = associatedData(owner, itemId, conversation, ts, epoch);
  let padded;
  try {
    padded = sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(null, sealed.subarray(HEADER_SIZE), aad, sealed.subarray(5, HEADER_SIZE), key);
  } catch {
    throw new DecryptionError("the sealed history copy does not open with this key (altered, moved or another key)");
  }
  return unpad(padded);
}
