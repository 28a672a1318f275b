// Device identities and the signed documents that announce them (crypto/identity.py).
import { b64encode, concat } from "./bytes.js";
import { CryptoError, InvalidKey, SessionStateError } from "./errors.js";
import { KEY_SIZE, SigningKey, X25519Key } from "./keys.js";
import { signJson } from "./signing.js";
import { ALGORITHM, KEY_ID_RE, PREKEY_SIGNER, prekeySignatureKeyId } from "./verify.js";

const IDENTITY_VERSION = 1;
const IDENTITY_SIZE = 1 + 2 * KEY_SIZE;

/** A device's long-term secret keys: Ed25519 for signing, X25519 for X3DH. */
export class DeviceIdentity {
  constructor(signing, dh) {
    this.signing = signing;
    this.dh = dh;
  }

  static generate() {
    return new DeviceIdentity(SigningKey.generate(), X25519Key.generate());
  }

  /** version (1) || Ed25519 seed (32) || X25519 private (32): secret. */
  toBytes() {
    return concat(Uint8Array.of(IDENTITY_VERSION), this.signing.seed, this.dh.private);
  }

  static fromBytes(data) {
    if (!(data instanceof Uint8Array) || data.length !== IDENTITY_SIZE) throw new SessionStateError(`device identity must be ${IDENTITY_SIZE} bytes`);
    if (data[0] !== IDENTITY_VERSION) throw new SessionStateError(`unknown device identity version ${data[0]}`);
    return new DeviceIdentity(new SigningKey(data.slice(1, 33)), new X25519Key(data.slice(33, 65)));
  }
}

function checkName(value, what) {
  if (typeof value !== "string" || value.length < 1 || value.length > 255) throw new CryptoError(`${what} must be a string of 1..255 characters`);
}

/** The device's public keys, self-signed. */
export function deviceKeysDocument(identity, address, deviceId) {
  checkName(address, "address");
  checkName(deviceId, "device_id");
  const doc = {
    address,
    device_id: deviceId,
    algorithms: [ALGORITHM],
    keys: {
      [`ed25519:${deviceId}`]: b64encode(identity.signing.publicKey),
      [`x25519:${deviceId}`]: b64encode(identity.dh.publicKey),
    },
  };
  return signJson(doc, address, `ed25519:${deviceId}`, identity.signing);
}

function prekeyDocument(identity, kind, prekeyId, key) {
  if (typeof prekeyId !== "string" || !KEY_ID_RE.test(prekeyId)) throw new InvalidKey("prekey key_id must be 1..64 characters of [A-Za-z0-9_:.-]");
  key = key ?? X25519Key.generate();
  const doc = { key_id: prekeyId, key: b64encode(key.publicKey), type: kind };
  return [key, signJson(doc, PREKEY_SIGNER, prekeySignatureKeyId(identity.signing.publicKey), identity.signing)];
}

/** [X25519Key, signed document] of a signed prekey. */
export const makeSignedPrekey = (identity, keyId, key) => prekeyDocument(identity, "signed_prekey", keyId, key);
/** [X25519Key, signed document] of a one-time prekey. */
export const makeOneTimePrekey = (identity, keyId, key) => prekeyDocument(identity, "one_time_prekey", keyId, key);
