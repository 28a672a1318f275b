// Matrix-style signed JSON (crypto/signing.py).
import { encodeCanonical } from "./canonicaljson.js";
import { b64decode, b64encode } from "./bytes.js";
import { CanonicalJsonError, CryptoError, SignatureError } from "./errors.js";
import { SIGNATURE_SIZE, verifySignature } from "./keys.js";

const EXCLUDED = new Set(["signatures", "unsigned"]);

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The bytes a signature of `obj` covers. */
export function signedBytes(obj) {
  if (!isObject(obj)) throw new CanonicalJsonError("only JSON objects can be signed");
  const copy = {};
  for (const [k, v] of Object.entries(obj)) if (!EXCLUDED.has(k)) copy[k] = v;
  return encodeCanonical(copy);
}

function signatures(obj) {
  const sigs = Object.hasOwn(obj, "signatures") ? obj.signatures : {};
  if (!isObject(sigs) || !Object.values(sigs).every(isObject)) throw new SignatureError("signatures must be an object of objects");
  return sigs;
}

/** A copy of `obj` with one more signature; the others are kept. */
export function signJson(obj, signer, keyId, key) {
  const signature = key.sign(signedBytes(obj));
  const sigs = {};
  for (const [s, v] of Object.entries(signatures(obj))) sigs[s] = { ...v };
  sigs[signer] = { ...(sigs[signer] ?? {}), [keyId]: b64encode(signature) };
  return { ...obj, signatures: sigs };
}

/** Check obj.signatures[signer][keyId]; throws SignatureError. */
export function verifyJson(obj, signer, keyId, publicKey) {
  if (!isObject(obj)) throw new SignatureError("only JSON objects carry signatures");
  const encoded = (signatures(obj)[signer] ?? {})[keyId];
  if (typeof encoded !== "string") throw new SignatureError(`no signature by ${signer} with ${keyId}`);
  let signature, message;
  try {
    signature = b64decode(encoded, SIGNATURE_SIZE);
    message = signedBytes(obj);
  } catch (err) {
    if (err instanceof CryptoError) throw new SignatureError(`malformed signed object: ${err.message}`);
    throw err;
  }
  verifySignature(publicKey, message, signature);
}
