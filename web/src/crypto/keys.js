// Ed25519 signing keys, X25519 exchange keys and short key ids (crypto/keys.py).
import { sodium } from "./sodium.js";
import { b64encode, equal, randomBytes } from "./bytes.js";
import { InvalidKey, SignatureError } from "./errors.js";

export const KEY_SIZE = 32;
export const SIGNATURE_SIZE = 64;
const ZERO = new Uint8Array(KEY_SIZE);
// A clamped scalar is a multiple of 8, so it sends every small-order point to zero.
const SMALL_ORDER_PROBE = new Uint8Array(KEY_SIZE).fill(1);

function checkSize(value, name, size = KEY_SIZE) {
  if (!(value instanceof Uint8Array) || value.length !== size) throw new InvalidKey(`${name} must be ${size} bytes`);
  return value;
}

/** An Ed25519 key pair made from a 32-byte seed. */
export class SigningKey {
  constructor(seed) {
    this.seed = checkSize(seed, "Ed25519 seed");
    const pair = sodium.crypto_sign_seed_keypair(seed);
    this.publicKey = pair.publicKey;
    this._secret = pair.privateKey;
  }

  static generate() {
    return new SigningKey(randomBytes(KEY_SIZE));
  }

  /** A 64-byte detached signature. */
  sign(message) {
    return sodium.crypto_sign_detached(message, this._secret);
  }
}

/** Check an Ed25519 signature; throws SignatureError when malformed or wrong. */
export function verifySignature(publicKey, message, signature) {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== KEY_SIZE) throw new SignatureError("Ed25519 public key must be 32 bytes");
  if (!(signature instanceof Uint8Array) || signature.length !== SIGNATURE_SIZE) throw new SignatureError("Ed25519 signature must be 64 bytes");
  let ok = false;
  try {
    ok = sodium.crypto_sign_verify_detached(signature, message, publicKey);
  } catch {
    ok = false;
  }
  if (!ok) throw new SignatureError("bad signature");
}

/** The raw X25519 function; throws InvalidKey on a bad size or the all-zero output. */
export function x25519(priv, peerPublic) {
  if (!(peerPublic instanceof Uint8Array) || peerPublic.length !== KEY_SIZE) throw new InvalidKey("X25519 public key must be 32 bytes");
  let shared;
  try {
    shared = sodium.crypto_scalarmult(priv, peerPublic);
  } catch {
    throw new InvalidKey("X25519 exchange failed (small-order public key)");
  }
  if (equal(shared, ZERO)) throw new InvalidKey("X25519 exchange gave the all-zero output");
  return shared;
}

/** An X25519 key pair; the private scalar is clamped by libsodium. */
export class X25519Key {
  constructor(priv) {
    this.private = checkSize(priv, "X25519 private key");
    this.publicKey = sodium.crypto_scalarmult_base(priv);
  }

  static generate() {
    return new X25519Key(randomBytes(KEY_SIZE));
  }

  exchange(peerPublic) {
    return x25519(this.private, peerPublic);
  }
}

/** Refuse an X25519 public key of the wrong size or of small order (InvalidKey). */
export function checkX25519Public(publicKey) {
  checkSize(publicKey, "X25519 public key");
  x25519(SMALL_ORDER_PROBE, publicKey);
  return publicKey;
}

export function sha256(data) {
  return sodium.crypto_hash_sha256(data);
}

/** Unpadded base64url of SHA-256(key)[:6] (8 characters). */
export function keyId(publicKey) {
  return b64encode(sha256(publicKey).subarray(0, 6));
}
