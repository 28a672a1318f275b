// Business documents (node/client/business.py): a profile or catalog signed by its
// node's key, fetched through the device's own node with that node's key document.
// The checks of the signature chain; the "verified" mark (the DNS key pin, asked of the
// device's node) and the key pinned on first use are commerce.js's.
import { b64decode } from "./crypto/bytes.js";
import { CryptoError } from "./crypto/errors.js";
import { verifyJson } from "./crypto/signing.js";
import { VerificationError } from "./errors.js";

const MAX_CACHE_MS = 24 * 3600 * 1000;

/** [[key id, public key bytes, expired_ms or null]] of a checked key document. */
export function checkKeyDocument(doc, serverName, nowMs) {
  const bad = (why) => new VerificationError(`bad key document of ${serverName}: ${why}`);
  if (!doc || typeof doc !== "object" || doc.server_name !== serverName) throw bad("it names another server");
  const current = doc.keys;
  const old = doc.old_keys ?? {};
  if (!current || typeof current !== "object" || Object.keys(current).length !== 1 || typeof old !== "object" || !Number.isSafeInteger(doc.valid_until_ms)) throw bad("malformed");
  if (doc.valid_until_ms < nowMs) throw bad("expired");
  const keyOf = (entry) => {
    try {
      return b64decode(entry.key, 32);
    } catch {
      throw bad("a key is malformed");
    }
  };
  const [[currentId, entry]] = Object.entries(current);
  const pub = keyOf(entry);
  try {
    verifyJson(doc, serverName, currentId, pub);
  } catch (err) {
    if (err instanceof CryptoError) throw bad(`not signed by its key (${err.message})`);
    throw err;
  }
  const out = [[currentId, pub, null]];
  for (const [id, e] of Object.entries(old)) {
    if (!Number.isSafeInteger(e?.expired_ms)) throw bad(`old key ${id} has no expiry`);
    out.push([id, keyOf(e), e.expired_ms]);
  }
  return out;
}

/**
 * Verify a directory answer for the `kind` (profile or catalog) of `serverName`:
 * {serverName, document, keyId, publicKey, keyIds}; VerificationError when a signature
 * does not check, the document is of another kind or server, or it has expired.
 */
export function checkBusinessDocument(answer, serverName, kind, nowMs = Date.now()) {
  const document = answer?.document;
  if (!document || typeof document !== "object" || answer.server_name !== serverName) throw new VerificationError(`the node answered no document of ${serverName}`);
  if (document.type !== `kontor.business.${kind}` || document.server_name !== serverName) throw new VerificationError(`the document is not the ${kind} of ${serverName}`);
  if (!Number.isSafeInteger(document.valid_until_ms) || document.valid_until_ms <= nowMs) throw new VerificationError(`the ${kind} of ${serverName} has expired`);
  const keys = checkKeyDocument(answer.keys, serverName, nowMs);
  for (const [keyId, publicKey, expired] of keys) {
    if (expired !== null && expired <= nowMs) continue;
    try {
      verifyJson(document, serverName, keyId, publicKey);
    } catch {
      continue;
    }
    return { serverName, document, keyId, publicKey, keyIds: keys.map((k) => k[0]) };
  }
  throw new VerificationError(`the document is not signed by a current key of ${serverName}`);
}

export { MAX_CACHE_MS };
