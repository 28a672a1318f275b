// Safety numbers (Signal's numeric fingerprint, version 0) and DNS key fingerprints,
// as crypto/fingerprint.py (docs/crypto.md §10).
import { sodium } from "./sodium.js";
import { b64encode, concat, utf8 } from "./bytes.js";
import { InvalidKey } from "./errors.js";

const ITERATIONS = 5200;

function half(address, identity) {
  if (!(identity instanceof Uint8Array) || identity.length !== 32) throw new InvalidKey("identity key must be 32 bytes");
  let digest = concat(Uint8Array.of(0, 0), identity, utf8(address));
  for (let i = 0; i < ITERATIONS; i++) digest = sodium.crypto_hash_sha512(concat(digest, identity));
  let out = "";
  for (let i = 0; i < 6; i++) {
    let value = 0;
    for (const byte of digest.subarray(i * 5, i * 5 + 5)) value = value * 256 + byte;
    out += String(value % 100000).padStart(5, "0");
  }
  return out;
}

/** 60 digits in 12 space-separated groups of 5, the same whichever side computes it. */
export function safetyNumber(addressA, identityA, addressB, identityB) {
  const halves = [half(addressA, identityA), half(addressB, identityB)].sort();
  const digits = halves.join("");
  return digits.match(/.{5}/g).join(" ");
}

/** Unpadded base64url SHA-256 of a public key (the form pinned in DNS). */
export function keyFingerprint(publicKey) {
  return b64encode(sodium.crypto_hash_sha256(publicKey));
}
