// Byte helpers and strict unpadded base64url (docs/crypto.md §1).
import { sodium } from "./sodium.js";
import { EncodingError } from "./errors.js";

const ALPHABET = /^[A-Za-z0-9_-]*$/;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text) {
  return encoder.encode(text);
}

/** UTF-8 bytes to text; throws TypeError on invalid UTF-8. */
export function fromUtf8(bytes) {
  return decoder.decode(bytes);
}

export function concat(...parts) {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Constant-time equality of two byte strings (false for different lengths). */
export function equal(a, b) {
  return a.length === b.length && sodium.memcmp(a, b);
}

export function hex(bytes) {
  return sodium.to_hex(bytes);
}

export function fromHex(text) {
  return sodium.from_hex(text);
}

export function u32(value) {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value);
  return out;
}

export function u16(value) {
  const out = new Uint8Array(2);
  new DataView(out.buffer).setUint16(0, value);
  return out;
}

export function readU32(bytes, pos) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(pos);
}

export function readU16(bytes, pos) {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(pos);
}

export function randomBytes(size) {
  return sodium.randombytes_buf(size);
}

/** Base64url without padding (RFC 4648 §5). */
export function b64encode(bytes) {
  return sodium.to_base64(bytes, sodium.base64_variants.URLSAFE_NO_PADDING);
}

/**
 * Decode unpadded base64url, refusing anything but its one canonical form
 * (EncodingError): non-strings, padding, other characters, an impossible length,
 * non-zero trailing bits and, when `length` is given, another decoded size.
 */
export function b64decode(text, length = undefined) {
  if (typeof text !== "string") throw new EncodingError("base64url text must be a string");
  if (!ALPHABET.test(text)) {
    throw new EncodingError("base64url text has padding or characters outside [A-Za-z0-9_-]");
  }
  if (text.length % 4 === 1) throw new EncodingError("base64url text has an impossible length");
  let data;
  try {
    data = sodium.from_base64(text, sodium.base64_variants.URLSAFE_NO_PADDING);
  } catch {
    throw new EncodingError("invalid base64url");
  }
  if (b64encode(data) !== text) throw new EncodingError("base64url text has non-zero trailing bits");
  if (length !== undefined && data.length !== length) {
    throw new EncodingError(`expected ${length} bytes, got ${data.length}`);
  }
  return data;
}
