// The known-answer vectors of tests/vectors/*.json, replayed through kontor.js's crypto.
// Shared by the Node test runner (vectors.test.mjs) and the browser (tests/web).
import * as bytes from "../src/crypto/bytes.js";
import { canonicalText, encodeCanonical, loadsStrict } from "../src/crypto/canonicaljson.js";
import { CryptoError, DecryptionError, HistoryError } from "../src/crypto/errors.js";
import * as history from "../src/crypto/history.js";
import { keyFingerprint, safetyNumber } from "../src/crypto/fingerprint.js";
import { DeviceIdentity, deviceKeysDocument, makeOneTimePrekey, makeSignedPrekey } from "../src/crypto/identity.js";
import { SigningKey, X25519Key, keyId } from "../src/crypto/keys.js";
import { MediaKey, decryptMedia, encryptMedia } from "../src/crypto/media.js";
import { kdfCk, kdfRk, messageKeys } from "../src/crypto/ratchet.js";
import { Session } from "../src/crypto/session.js";
import { signJson } from "../src/crypto/signing.js";
import { verifyBundle } from "../src/crypto/verify.js";
import { initiate, respond } from "../src/crypto/x3dh.js";
import { ready } from "../src/crypto/sodium.js";

const h = bytes.fromHex;
const same = (a, b, what) => {
  const x = typeof a === "string" ? a : canonicalText(a);
  const y = typeof b === "string" ? b : canonicalText(b);
  if (x !== y) throw new Error(`${what}: ${x.slice(0, 200)} != ${y.slice(0, 200)}`);
};
const identity = (seed, x) => new DeviceIdentity(new SigningKey(h(seed)), new X25519Key(h(x)));

function checkJson(v) {
  for (const c of v.canonical) same(canonicalText(loadsStrict(c.input)), c.canonical, `canonical ${c.input}`);
  for (const text of v.rejected) {
    let refused = false;
    try {
      loadsStrict(text);
    } catch (err) {
      refused = err instanceof CryptoError;
    }
    if (!refused) throw new Error(`accepted ${text}`);
  }
  const s = v.sign_json;
  same(signJson(s.input, s.signer, s.key_id, new SigningKey(h(s.seed))), s.signed, "sign_json");
  const d = v.documents;
  const alice = identity(d.ed25519_seed, d.x25519_private);
  same(deviceKeysDocument(alice, d.address, d.device_id), d.device_keys, "device keys");
  same(makeSignedPrekey(alice, "spk-7", new X25519Key(h(d.signed_prekey_private)))[1], d.signed_prekey, "signed prekey");
  same(makeOneTimePrekey(alice, "otk-42", new X25519Key(h(d.one_time_prekey_private)))[1], d.one_time_prekey, "one-time prekey");
  return v.canonical.length + v.rejected.length + 4;
}

function checkX3dh(v) {
  for (const c of v.cases) {
    const alice = identity(c.alice_ed25519_seed, c.alice_x25519_private);
    const bob = identity(c.bob_ed25519_seed, c.bob_x25519_private);
    const spk = new X25519Key(h(c.bob_signed_prekey_private));
    const otk = c.bob_one_time_prekey_private ? new X25519Key(h(c.bob_one_time_prekey_private)) : null;
    const bundle = {
      device: { signingKey: bob.signing.publicKey, identityKey: bob.dh.publicKey },
      signedPrekey: spk.publicKey,
      oneTimePrekey: otk?.publicKey ?? null,
    };
    const ours = initiate(alice, bundle, new X25519Key(h(c.alice_ephemeral_private)));
    same(bytes.hex(ours.secret), c.secret, "x3dh secret");
    same(bytes.hex(ours.associatedData), c.associated_data, "x3dh ad");
    const theirs = respond(bob, spk, otk, alice.signing.publicKey, alice.dh.publicKey, ours.ephemeralPublic);
    same(bytes.hex(theirs.secret), c.secret, "x3dh responder secret");
  }
  return v.cases.length;
}

function checkSession(v) {
  const k = v.kdf;
  const [rk, ck] = kdfRk(h(k.kdf_rk.root_key), h(k.kdf_rk.dh_output));
  same(bytes.hex(rk) + bytes.hex(ck), k.kdf_rk.new_root_key + k.kdf_rk.chain_key, "kdf_rk");
  const [mk, next] = kdfCk(h(k.kdf_ck.chain_key));
  same(bytes.hex(mk) + bytes.hex(next), k.kdf_ck.message_key + k.kdf_ck.next_chain_key, "kdf_ck");
  const [key, nonce] = messageKeys(h(k.message_keys.message_key));
  same(bytes.hex(key) + bytes.hex(nonce), k.message_keys.aead_key + k.message_keys.nonce, "message keys");
  const alice = identity(v.alice_ed25519_seed, v.alice_x25519_private);
  const bob = identity(v.bob_ed25519_seed, v.bob_x25519_private);
  const spk = new X25519Key(h(v.bob_signed_prekey_private));
  const otk = new X25519Key(h(v.bob_one_time_prekey_private));
  const sessions = {
    alice: Session.initiate(alice, verifyBundle(v.bundle, v.bob_address), new X25519Key(h(v.alice_ephemeral_private)), new X25519Key(h(v.alice_first_ratchet_private))),
  };
  const wires = [];
  for (const e of v.events) {
    if (e.op === "send") {
      const ratchetKey = e.ratchet_private ? new X25519Key(h(e.ratchet_private)) : undefined;
      const wire = sessions[e.from].encrypt(bytes.utf8(e.plaintext), ratchetKey);
      same(bytes.hex(wire), e.wire, `wire of message ${e.id}`);
      wires[e.id] = wire;
    } else {
      let plaintext;
      if (!sessions[e.by]) [sessions[e.by], plaintext] = Session.accept(bob, spk, otk, wires[e.id]);
      else plaintext = sessions[e.by].decrypt(wires[e.id]);
      same(bytes.fromUtf8(plaintext), e.plaintext, `plaintext of message ${e.id}`);
    }
  }
  for (const [who, state] of Object.entries(v.final_state)) {
    same(bytes.hex(sessions[who].toBytes()), state, `final state of ${who}`);
    same(bytes.hex(Session.fromBytes(h(state)).toBytes()), state, `state round trip of ${who}`);
  }
  // A replay is refused and changes nothing.
  const before = bytes.hex(sessions.bob.toBytes());
  let refused = false;
  try {
    sessions.bob.decrypt(wires[0]);
  } catch (err) {
    refused = err instanceof DecryptionError;
  }
  if (!refused || bytes.hex(sessions.bob.toBytes()) !== before) throw new Error("a replay was not refused cleanly");
  return 3 + v.events.length;
}

function checkFingerprint(v) {
  same(safetyNumber(v.alice_address, h(v.alice_ed25519), v.bob_address, h(v.bob_ed25519)), v.safety_number, "safety number");
  same(keyFingerprint(h(v.alice_ed25519)), v.key_fingerprint, "key fingerprint");
  same(keyId(h(v.alice_ed25519)), v.key_id, "key id");
  return 3;
}

function checkMedia(v) {
  for (const c of v.cases) {
    const key = MediaKey.fromJSON(c.media_key);
    const plain = decryptMedia(h(c.ciphertext), key);
    if (plain.length !== c.size || !plain.every((b, i) => b === i % 251)) throw new Error(`media ${c.size}`);
    const [again, againKey] = encryptMedia(plain, key.key);
    same(bytes.hex(decryptMedia(again, againKey)), bytes.hex(plain), `media round trip ${c.size}`);
    const tampered = h(c.ciphertext);
    tampered[tampered.length - 1] ^= 1;
    let refused = false;
    try {
      decryptMedia(tampered, key);
    } catch (err) {
      refused = err instanceof CryptoError;
    }
    if (!refused) throw new Error("tampered media accepted");
  }
  return v.cases.length;
}

function checkHistoryCopies(v) {
  for (const c of v.copies) {
    const where = [v.owner, c.item_id, c.conversation, c.ts];
    const record = encodeCanonical(c.record);
    same(bytes.fromUtf8(record), c.canonical, `record ${c.item_id}`);
    same(bytes.hex(history.associatedData(...where, c.epoch)), c.aad, `aad ${c.item_id}`);
    same(bytes.hex(history.pad(record)), c.padded, `padded ${c.item_id}`);
    const sealed = history.seal(h(v.keys[c.epoch]), c.epoch, ...where, record, h(c.nonce));
    same(bytes.hex(sealed), c.sealed, `sealed ${c.item_id}`);
    same(bytes.b64encode(sealed), c.sealed_base64url, `sealed base64url ${c.item_id}`);
    same(bytes.fromUtf8(history.openSealed(h(v.keys[c.epoch]), ...where, sealed)), c.canonical, `opened ${c.item_id}`);
  }
  const errors = { DecryptionError, HistoryError };
  for (const c of v.refused) {
    let refused = false;
    try {
      history.openSealed(h(v.keys["1"]), c.owner, c.item_id, c.conversation, c.ts, h(c.sealed));
    } catch (err) {
      refused = err instanceof errors[c.error];
    }
    if (!refused) throw new Error(`history copy not refused as ${c.error}: ${c.why}`);
  }
  return v.copies.length + v.refused.length;
}

function checkHistoryDelivery(v) {
  const d = v.delivery;
  const anna = identity(d.anna_ed25519_seed, d.anna_x25519_private);
  const ben = identity(d.ben_ed25519_seed, d.ben_x25519_private);
  const sender = Session.initiate(anna, verifyBundle(d.bundle, d.ben_address), new X25519Key(h(d.anna_ephemeral_private)), new X25519Key(h(d.anna_first_ratchet_private)));
  let receiver;
  const keys = {};
  for (const m of d.messages) {
    const wire = sender.encrypt(history.pad(encodeCanonical(m.body)));
    same(bytes.hex(wire), m.wire, `history keys message ${m.epochs}`);
    same(bytes.b64encode(wire), m.ciphertext, `history keys ciphertext ${m.epochs}`);
    let padded;
    if (!receiver) [receiver, padded] = Session.accept(ben, new X25519Key(h(d.ben_signed_prekey_private)), new X25519Key(h(d.ben_one_time_prekey_private)), wire);
    else padded = receiver.decrypt(wire);
    const body = loadsStrict(history.unpad(padded));
    for (const [epoch, key] of Object.entries(body.keys)) keys[epoch] = bytes.b64decode(key, 32);
  }
  for (const c of v.copies) history.openSealed(keys[c.epoch], v.owner, c.item_id, c.conversation, c.ts, h(c.sealed));
  return d.messages.length;
}

function checkHistory(v) {
  return checkHistoryCopies(v) + checkHistoryDelivery(v);
}

export const CHECKS = { "json.json": checkJson, "x3dh.json": checkX3dh, "session.json": checkSession, "fingerprint.json": checkFingerprint, "media.json": checkMedia, "history.json": checkHistory };

/** Run the checks of the given files ({file name: parsed JSON}); returns {name: count}. */
export async function runVectors(files) {
  await ready();
  const out = {};
  for (const [name, content] of Object.entries(files)) out[name] = CHECKS[name](content);
  return out;
}
