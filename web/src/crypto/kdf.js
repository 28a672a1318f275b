// HKDF-SHA256 (RFC 5869) built on libsodium's HMAC-SHA256, exactly as crypto/kdf.py.
import { sodium } from "./sodium.js";
import { concat } from "./bytes.js";
import { CryptoError } from "./errors.js";

export const HASH_LEN = 32;
const MAX_OUTPUT = 255 * HASH_LEN;

/** HMAC-SHA256(key, data) for a key of any length. */
export function hmacSha256(key, data) {
  if (key.length === HASH_LEN) return sodium.crypto_auth_hmacsha256(data, key);
  const state = sodium.crypto_auth_hmacsha256_init(key);
  sodium.crypto_auth_hmacsha256_update(state, data);
  return sodium.crypto_auth_hmacsha256_final(state);
}

export function hkdfExtract(salt, ikm) {
  return hmacSha256(salt.length ? salt : new Uint8Array(HASH_LEN), ikm);
}

export function hkdfExpand(prk, info, length) {
  if (!(length >= 0 && length <= MAX_OUTPUT)) throw new CryptoError(`HKDF-SHA256 output must be 0..${MAX_OUTPUT} bytes`);
  const blocks = [];
  let block = new Uint8Array(0);
  for (let counter = 1; counter <= Math.ceil(length / HASH_LEN); counter++) {
    block = hmacSha256(prk, concat(block, info, Uint8Array.of(counter)));
    blocks.push(block);
  }
  return concat(...blocks).subarray(0, length);
}

/** HKDF-SHA256(ikm, salt, info) -> `length` bytes. */
export function hkdf(ikm, salt, info, length) {
  return hkdfExpand(hkdfExtract(salt, ikm), info, length);
}
