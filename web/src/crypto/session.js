// Pairwise device sessions (X3DH then the Double Ratchet) and their wire format, as
// crypto/session.py (docs/crypto.md §7).
import { concat, equal, readU16, u16 } from "./bytes.js";
import { DecryptionError, InvalidKey, MessageTooLarge, SessionStateError } from "./errors.js";
import { KEY_SIZE } from "./keys.js";
import { HEADER_SIZE, Ratchet, TAG_SIZE } from "./ratchet.js";
import { KEY_ID_RE } from "./verify.js";
import { initiate as x3dhInitiate, respond as x3dhRespond } from "./x3dh.js";

export const WIRE_VERSION = 1;
export const TYPE_PREKEY = 1;
export const TYPE_NORMAL = 2;
export const MAX_MESSAGE_SIZE = 49152;
export const MAX_PLAINTEXT_SIZE = MAX_MESSAGE_SIZE - 512;
const STATE_VERSION = 1;
const STATE_HEAD = 1 + 1 + 32 + 32 + 2;
const FLAG_INITIATOR = 1;
const FLAG_PENDING = 2;
const NORMAL_PREFIX = Uint8Array.of(WIRE_VERSION, TYPE_NORMAL);
const PREKEY_PREFIX = Uint8Array.of(WIRE_VERSION, TYPE_PREKEY);
const ascii = new TextDecoder("ascii");

/** What a prekey message tells the responder before anything is decrypted. */
export class PrekeyInfo {
  constructor(signedPrekeyId, oneTimePrekeyId, initiatorSigningKey, initiatorIdentityKey, ephemeralKey) {
    Object.assign(this, { signedPrekeyId, oneTimePrekeyId, initiatorSigningKey, initiatorIdentityKey, ephemeralKey });
  }

  toBytes() {
    const spk = new TextEncoder().encode(this.signedPrekeyId);
    const otk = new TextEncoder().encode(this.oneTimePrekeyId ?? "");
    return concat(this.initiatorSigningKey, this.initiatorIdentityKey, this.ephemeralKey, Uint8Array.of(spk.length), spk, Uint8Array.of(otk.length), otk);
  }

  equals(other) {
    return equal(this.toBytes(), other.toBytes());
  }
}

function prekeyId(data, pos, optional) {
  if (pos >= data.length) throw new DecryptionError("prekey message truncated");
  const size = data[pos];
  if (size === 0 && optional) return [null, pos + 1];
  const raw = data.subarray(pos + 1, pos + 1 + size);
  const text = ascii.decode(raw);
  if (raw.length !== size || !KEY_ID_RE.test(text)) throw new DecryptionError("malformed prekey id");
  return [text, pos + 1 + size];
}

/** [PrekeyInfo or null, ratchet message] of a wire message. */
function parse(message) {
  if (!(message instanceof Uint8Array)) throw new DecryptionError("message must be bytes");
  if (message.length > MAX_MESSAGE_SIZE) throw new DecryptionError(`message larger than ${MAX_MESSAGE_SIZE} bytes`);
  if (message.length < 2 || message[0] !== WIRE_VERSION) throw new DecryptionError("unknown message version");
  let info = null;
  let body;
  if (message[1] === TYPE_NORMAL) {
    body = message.subarray(2);
  } else if (message[1] === TYPE_PREKEY) {
    if (message.length < 2 + 3 * KEY_SIZE) throw new DecryptionError("prekey message truncated");
    const keys = [0, 1, 2].map((i) => message.slice(2 + i * KEY_SIZE, 2 + (i + 1) * KEY_SIZE));
    let [spkId, pos] = prekeyId(message, 2 + 3 * KEY_SIZE, false);
    let otkId;
    [otkId, pos] = prekeyId(message, pos, true);
    info = new PrekeyInfo(spkId, otkId, keys[0], keys[1], keys[2]);
    body = message.subarray(pos);
  } else {
    throw new DecryptionError(`unknown message type ${message[1]}`);
  }
  if (body.length < HEADER_SIZE + TAG_SIZE) throw new DecryptionError("message truncated");
  return [info, body];
}

/** The prekey fields of a prekey message, null for a normal one (DecryptionError if bad). */
export function peekPrekey(message) {
  return parse(message)[0];
}

/** A Double Ratchet session with one remote device. */
export class Session {
  constructor(ratchet, remoteSigning, remoteIdentity, prekey, flags) {
    Object.assign(this, { ratchet, remoteSigning, remoteIdentity, prekey, flags });
  }

  static initiate(identity, bundle, ephemeral = undefined, ratchetKey = undefined) {
    const agreed = x3dhInitiate(identity, bundle, ephemeral);
    const ratchet = Ratchet.initiator(agreed.secret, agreed.associatedData, bundle.signedPrekey, ratchetKey);
    const prekey = new PrekeyInfo(bundle.signedPrekeyId, bundle.oneTimePrekeyId, identity.signing.publicKey, identity.dh.publicKey, agreed.ephemeralPublic);
    return new Session(ratchet, bundle.device.signingKey, bundle.device.identityKey, prekey, FLAG_INITIATOR | FLAG_PENDING);
  }

  /** [responder's session, plaintext] from a prekey message (DecryptionError). */
  static accept(identity, signedPrekey, oneTimePrekey, message) {
    const [info, body] = parse(message);
    if (info === null) throw new DecryptionError("not a prekey message");
    if ((info.oneTimePrekeyId === null) !== (oneTimePrekey == null)) throw new DecryptionError("one-time prekey given and named in the message differ");
    let agreed;
    try {
      agreed = x3dhRespond(identity, signedPrekey, oneTimePrekey, info.initiatorSigningKey, info.initiatorIdentityKey, info.ephemeralKey);
    } catch (err) {
      if (err instanceof InvalidKey) throw new DecryptionError(`bad key in prekey message: ${err.message}`);
      throw err;
    }
    const ratchet = Ratchet.responder(agreed.secret, agreed.associatedData, signedPrekey);
    const plaintext = ratchet.decrypt(body);
    return [new Session(ratchet, info.initiatorSigningKey, info.initiatorIdentityKey, info, 0), plaintext];
  }

  get isInitiator() {
    return Boolean(this.flags & FLAG_INITIATOR);
  }

  matchesPrekey(info) {
    return !this.isInitiator && info.equals(this.prekey);
  }

  /** A wire message; prekey type while the initiator has had no reply. */
  encrypt(plaintext, ratchetKey = undefined) {
    if (!(plaintext instanceof Uint8Array)) throw new TypeError("plaintext must be bytes");
    if (plaintext.length > MAX_PLAINTEXT_SIZE) throw new MessageTooLarge(`plaintext larger than ${MAX_PLAINTEXT_SIZE} bytes`);
    const body = this.ratchet.encrypt(plaintext, ratchetKey);
    if (this.flags & FLAG_PENDING) return concat(PREKEY_PREFIX, this.prekey.toBytes(), body);
    return concat(NORMAL_PREFIX, body);
  }

  /** The plaintext of a wire message; the session changes only on success. */
  decrypt(message) {
    const [info, body] = parse(message);
    if (info !== null && !this.matchesPrekey(info)) throw new DecryptionError("prekey message of another session");
    const plaintext = this.ratchet.decrypt(body);
    this.flags &= ~FLAG_PENDING;
    return plaintext;
  }

  toBytes() {
    const prekey = this.prekey.toBytes();
    return concat(Uint8Array.of(STATE_VERSION, this.flags), this.remoteSigning, this.remoteIdentity, u16(prekey.length), prekey, this.ratchet.toBytes());
  }

  static fromBytes(data) {
    if (!(data instanceof Uint8Array) || data.length < STATE_HEAD) throw new SessionStateError("session state truncated");
    const [version, flags] = data;
    if (version !== STATE_VERSION || flags > 3 || flags === FLAG_PENDING) throw new SessionStateError("unknown session state version or flags");
    const signing = data.slice(2, 34);
    const identity = data.slice(34, 66);
    const size = readU16(data, 66);
    const fields = data.slice(STATE_HEAD, STATE_HEAD + size);
    let info;
    try {
      info = parse(concat(PREKEY_PREFIX, fields, new Uint8Array(HEADER_SIZE + TAG_SIZE)))[0];
    } catch {
      throw new SessionStateError("bad prekey fields in session state");
    }
    if (info === null || !equal(info.toBytes(), fields)) throw new SessionStateError("bad prekey fields in session state");
    return new Session(Ratchet.fromBytes(data.slice(STATE_HEAD + size)), signing, identity, info, flags);
  }
}
