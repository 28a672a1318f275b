// Guest accounts of the web chat (docs/protocol.md, "Guests"): get a challenge, solve
// the proof of work with WebCrypto's SHA-256 in bounded chunks that give the event loop
// back between them, create the guest and this browser's device; set a password later
// to keep the chat on another browser.
import { ready } from "./crypto/sodium.js";
import { b64decode, b64encode } from "./crypto/bytes.js";
import { Client } from "./client.js";
import { ClientError } from "./errors.js";
import { Transport } from "./transport.js";

export const NONCE_BYTES = 8;
const CHUNK = 1024; // hashes in flight at once (about 10 ms), then the event loop gets a turn
const MAX_DIFFICULTY = 32;
const EXTRA_BITS = 8; // give up after 2^(difficulty + 8) tries (the odds of that: e^-256)

/** Zero bits at the start of `bytes`, most significant bit of byte 0 first. */
export function leadingZeroBits(bytes) {
  let bits = 0;
  for (const byte of bytes) {
    if (byte !== 0) return bits + Math.clz32(byte) - 24;
    bits += 8;
  }
  return bits;
}

const yieldToLoop = () => new Promise((resolve) => setTimeout(resolve, 0));

function candidate(challenge, counter) {
  const input = new Uint8Array(challenge.length + NONCE_BYTES);
  input.set(challenge);
  const view = new DataView(input.buffer);
  view.setUint32(challenge.length, Math.floor(counter / 2 ** 32));
  view.setUint32(challenge.length + 4, counter >>> 0);
  return input;
}

/**
 * A nonce (8 bytes, a big-endian counter) such that SHA-256(challenge || nonce) starts
 * with `difficulty` zero bits. `onProgress(tries, expected)` is called after each chunk;
 * `signal` (an AbortSignal) stops the search.
 */
export async function solveChallenge(challenge, difficulty, { signal = null, onProgress = null, chunk = CHUNK } = {}) {
  if (!Number.isInteger(difficulty) || difficulty < 0 || difficulty > MAX_DIFFICULTY) {
    throw new ClientError(`the node asks for an impossible proof of work (${difficulty} bits)`);
  }
  const limit = 2 ** (difficulty + EXTRA_BITS);
  for (let start = 0; start < limit; start += chunk) {
    if (signal?.aborted) throw signal.reason ?? new DOMException("aborted", "AbortError");
    const inputs = Array.from({ length: chunk }, (_, i) => candidate(challenge, start + i));
    const digests = await Promise.all(inputs.map((input) => crypto.subtle.digest("SHA-256", input)));
    const found = digests.findIndex((d) => leadingZeroBits(new Uint8Array(d)) >= difficulty);
    if (found >= 0) return inputs[found].slice(challenge.length);
    onProgress?.(start + chunk, 2 ** difficulty);
    await yieldToLoop();
  }
  throw new ClientError("no proof of work found; ask the node for a new challenge");
}

/**
 * Create a guest account on the node at `nodeUrl` (the business's own, where the chat
 * page is served) and this browser's device; resolves to a Client like `register`.
 * `onProgress(tries, expected)` reports the proof of work (about one second).
 */
export async function registerGuest(nodeUrl, { deviceName = "kontor-web", store = "default", signal = null, onProgress = null } = {}) {
  await ready();
  const transport = new Transport(nodeUrl || location.origin);
  const doc = await transport.request("POST", "/guest/challenge", {});
  const challenge = b64decode(doc.challenge);
  const nonce = await solveChallenge(challenge, doc.difficulty, { signal, onProgress });
  const session = await transport.request("POST", "/guest/register", {
    challenge: doc.challenge,
    nonce: b64encode(nonce),
    device_name: deviceName,
  });
  return Client.newDevice(transport, session, store);
}

/**
 * Set the password of `client`'s account (a guest's first one: no `oldPassword`), so
 * that it can log in on another browser with `Client.login(url, client.address, ...)`.
 * Changing an existing password needs the current one.
 */
export async function setPassword(client, password, { oldPassword = null } = {}) {
  const body = { password };
  if (oldPassword !== null) body.old_password = oldPassword;
  await client.transport.request("POST", "/account/password", body);
}

/** Whether `client`'s account is a web chat guest and whether it has a password. */
export async function guestStatus(client) {
  const info = await client.transport.request("GET", "/account");
  return { guest: Boolean(info.guest), hasPassword: Boolean(info.has_password) };
}
