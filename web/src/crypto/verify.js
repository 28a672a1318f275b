// Verification of device keys documents, prekeys and claimed bundles (crypto/verify.py).
import { b64decode } from "./bytes.js";
import { BundleError, CryptoError } from "./errors.js";
import { KEY_SIZE, checkX25519Public, keyId } from "./keys.js";
import { verifyJson } from "./signing.js";

export const ALGORITHM = "x3dh-xchacha20poly1305-v1";
export const PREKEY_SIGNER = "device";
export const KEY_ID_RE = /^[A-Za-z0-9_:.-]{1,64}$/;
const DEVICE_FIELDS = new Set(["address", "device_id", "algorithms", "keys", "signatures", "unsigned"]);
const PREKEY_FIELDS = new Set(["key_id", "key", "type", "signatures", "unsigned"]);
const BUNDLE_FIELDS = new Set(["device_id", "device_keys", "signed_prekey", "one_time_prekey"]);

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function onlyFields(obj, allowed) {
  return isObject(obj) && Object.keys(obj).every((k) => allowed.has(k));
}

export function prekeySignatureKeyId(signingPublicKey) {
  return `ed25519:${keyId(signingPublicKey)}`;
}

function key(value, what) {
  try {
    return b64decode(value, KEY_SIZE);
  } catch (err) {
    throw new BundleError(`${what}: ${err.message}`);
  }
}

/** {address, deviceId, signingKey, identityKey} of a checked device keys document. */
export function verifyDeviceKeys(doc, address, deviceId) {
  if (!onlyFields(doc, DEVICE_FIELDS)) throw new BundleError("device keys must be an object with the documented members");
  if (doc.address !== address || doc.device_id !== deviceId) throw new BundleError("device keys name another account or device");
  if (!Array.isArray(doc.algorithms) || !doc.algorithms.includes(ALGORITHM)) throw new BundleError(`device does not support ${ALGORITHM}`);
  const keys = doc.keys;
  const names = [`ed25519:${deviceId}`, `x25519:${deviceId}`];
  if (!isObject(keys) || Object.keys(keys).length !== 2 || !names.every((n) => Object.hasOwn(keys, n))) {
    throw new BundleError("device keys need exactly the Ed25519 and X25519 keys of the device");
  }
  const signingKey = key(keys[names[0]], "Ed25519 key");
  const identityKey = key(keys[names[1]], "X25519 key");
  try {
    checkX25519Public(identityKey);
    verifyJson(doc, address, names[0], signingKey);
  } catch (err) {
    if (err instanceof CryptoError) throw new BundleError(`device keys: ${err.message}`);
    throw err;
  }
  return { address, deviceId, signingKey, identityKey };
}

function verifyPrekey(doc, device, kind) {
  if (!onlyFields(doc, PREKEY_FIELDS)) throw new BundleError(`${kind} must be an object with the documented members`);
  if (doc.type !== kind) throw new BundleError(`document is not a ${kind}`);
  if (typeof doc.key_id !== "string" || !KEY_ID_RE.test(doc.key_id)) throw new BundleError(`${kind} key_id must be 1..64 characters of [A-Za-z0-9_:.-]`);
  const pub = key(doc.key, kind);
  try {
    checkX25519Public(pub);
    verifyJson(doc, PREKEY_SIGNER, prekeySignatureKeyId(device.signingKey), device.signingKey);
  } catch (err) {
    if (err instanceof CryptoError) throw new BundleError(`${kind}: ${err.message}`);
    throw err;
  }
  return [doc.key_id, pub];
}

export const verifySignedPrekey = (doc, device) => verifyPrekey(doc, device, "signed_prekey");
export const verifyOneTimePrekey = (doc, device) => verifyPrekey(doc, device, "one_time_prekey");

/** A verified bundle for a device of `address`: the input of X3DH (BundleError). */
export function verifyBundle(bundle, address) {
  if (!onlyFields(bundle, BUNDLE_FIELDS)) throw new BundleError("bundle must be an object with the documented members");
  if (typeof bundle.device_id !== "string") throw new BundleError("bundle needs a device_id");
  const device = verifyDeviceKeys(bundle.device_keys, address, bundle.device_id);
  const [signedPrekeyId, signedPrekey] = verifySignedPrekey(bundle.signed_prekey, device);
  const otk = bundle.one_time_prekey;
  const [oneTimePrekeyId, oneTimePrekey] = otk == null ? [null, null] : verifyOneTimePrekey(otk, device);
  return { device, signedPrekeyId, signedPrekey, oneTimePrekeyId, oneTimePrekey };
}
