// X3DH key agreement (crypto/x3dh.py, docs/crypto.md §5).
import { concat, utf8 } from "./bytes.js";
import { InvalidKey } from "./errors.js";
import { hkdf } from "./kdf.js";
import { KEY_SIZE, X25519Key } from "./keys.js";

const INFO = utf8("Kontor X3DH v1");
const F = new Uint8Array(KEY_SIZE).fill(0xff);
const SALT = new Uint8Array(KEY_SIZE);

/** AD = both identities, Ed25519 then X25519, initiator first (128 bytes). */
export function associatedData(initiatorSigning, initiatorIdentity, responderSigning, responderIdentity) {
  return concat(initiatorSigning, initiatorIdentity, responderSigning, responderIdentity);
}

function secret(outputs) {
  return hkdf(concat(F, ...outputs), SALT, INFO, KEY_SIZE);
}

/** The initiator's half from a verified bundle: {secret, associatedData, ephemeralPublic}. */
export function initiate(identity, bundle, ephemeral = undefined) {
  ephemeral = ephemeral ?? X25519Key.generate();
  const outputs = [
    identity.dh.exchange(bundle.signedPrekey),
    ephemeral.exchange(bundle.device.identityKey),
    ephemeral.exchange(bundle.signedPrekey),
  ];
  if (bundle.oneTimePrekey != null) outputs.push(ephemeral.exchange(bundle.oneTimePrekey));
  const ad = associatedData(identity.signing.publicKey, identity.dh.publicKey, bundle.device.signingKey, bundle.device.identityKey);
  return { secret: secret(outputs), associatedData: ad, ephemeralPublic: ephemeral.publicKey };
}

/** The responder's half; throws InvalidKey for a bad size or a zero DH. */
export function respond(identity, signedPrekey, oneTimePrekey, initiatorSigningKey, initiatorIdentityKey, ephemeralPublic) {
  const outputs = [
    signedPrekey.exchange(initiatorIdentityKey),
    identity.dh.exchange(ephemeralPublic),
    signedPrekey.exchange(ephemeralPublic),
  ];
  if (oneTimePrekey != null) outputs.push(oneTimePrekey.exchange(ephemeralPublic));
  if (initiatorSigningKey.length !== KEY_SIZE) throw new InvalidKey("initiator Ed25519 key must be 32 bytes");
  const ad = associatedData(initiatorSigningKey, initiatorIdentityKey, identity.signing.publicKey, identity.dh.publicKey);
  return { secret: secret(outputs), associatedData: ad, ephemeralPublic };
}
