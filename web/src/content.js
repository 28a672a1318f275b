// What travels inside an encrypted message: typed content as canonical JSON, padded
// (node/client/content.py, docs/protocol.md "Message content").
import { encodeCanonical, loadsStrict } from "./crypto/canonicaljson.js";
import { CryptoError } from "./crypto/errors.js";
import { ContentError } from "./errors.js";

export const PAD_BLOCK = 64;
export const MAX_TEXT = 16 * 1024;
export const TYPES = ["text", "media", "receipt", "product", "order", "order_status"];

export function pad(data) {
  const size = (Math.floor(data.length / PAD_BLOCK) + 1) * PAD_BLOCK;
  const out = new Uint8Array(size);
  out.set(data);
  out[data.length] = 0x80;
  return out;
}

export function unpad(data) {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  if (end === 0 || data[end - 1] !== 0x80 || data.length % PAD_BLOCK) throw new ContentError("bad padding");
  return data.subarray(0, end - 1);
}

function need(content, key, type) {
  const value = content[key];
  const ok = type === "int" ? Number.isSafeInteger(value) : type === "list" ? Array.isArray(value) : typeof value === type;
  if (!ok) throw new ContentError(`${content.type} content needs ${JSON.stringify(key)}`);
  return value;
}

/** Refuse content of unknown type or with missing or malformed fields (ContentError). */
export function check(content) {
  if (content === null || typeof content !== "object" || Array.isArray(content) || !TYPES.includes(content.type)) {
    throw new ContentError(`content type must be one of ${TYPES.join(", ")}`);
  }
  need(content, "from", "string");
  need(content, "to", "string");
  switch (content.type) {
    case "text":
      if ([...need(content, "body", "string")].length > MAX_TEXT) throw new ContentError(`text is limited to ${MAX_TEXT} characters`);
      break;
    case "media":
      for (const key of ["media_id", "key", "sha256"]) need(content, key, "string");
      need(content, "size", "int");
      break;
    case "receipt": {
      if (content.receipt !== "read") throw new ContentError("receipt content must be a read receipt");
      const ids = need(content, "message_ids", "list");
      if (!ids.length || ids.length > 500 || !ids.every((i) => typeof i === "string")) throw new ContentError("message_ids must list 1 to 500 message ids");
      break;
    }
    case "product":
      need(content, "sku", "string");
      need(content, "catalog", "string");
      break;
    case "order": {
      need(content, "order_id", "string");
      const items = need(content, "items", "list");
      if (!items.length || items.length > 100) throw new ContentError("an order has 1 to 100 items");
      for (const item of items) {
        if (item === null || typeof item !== "object" || Array.isArray(item)) throw new ContentError("order items are objects with sku and quantity");
        need(item, "sku", "string");
        need(item, "quantity", "int");
      }
      break;
    }
    case "order_status":
      need(content, "order_id", "string");
      need(content, "status", "string");
      break;
  }
}

/** Check and serialise a content object into the padded plaintext. */
export function encode(content) {
  check(content);
  return pad(encodeCanonical(content));
}

/** Parse and check a padded plaintext (ContentError). */
export function decode(plaintext) {
  let content;
  try {
    content = loadsStrict(unpad(plaintext));
  } catch (err) {
    if (err instanceof CryptoError) throw new ContentError(`content is not canonical JSON: ${err.message}`);
    throw err;
  }
  check(content);
  return content;
}

/** A quick reply's text with each {name} filled in; unknown ones stay; {{ and }} are braces. */
export function expandQuickReply(text, values) {
  return text.replace(/\{\{|\}\}|\{([A-Za-z0-9_]*)\}/g, (token, name) => {
    if (token === "{{") return "{";
    if (token === "}}") return "}";
    return Object.hasOwn(values, name) && values[name] != null ? String(values[name]) : token;
  });
}
