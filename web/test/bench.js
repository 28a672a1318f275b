// Throughput of kontor.js's session crypto, measured where it runs (bench/web.py drives
// it in Chromium beside bench/crypto.py's Python figures).
import { DeviceIdentity, deviceKeysDocument, makeOneTimePrekey, makeSignedPrekey } from "../src/crypto/identity.js";
import { Session } from "../src/crypto/session.js";
import { verifyBundle } from "../src/crypto/verify.js";
import { initiate, respond } from "../src/crypto/x3dh.js";
import { ready } from "../src/crypto/sodium.js";

const MESSAGE = new Uint8Array(200);

function rate(step, seconds, count) {
  for (let i = 0; i < Math.min(50, count); i++) step();
  let done = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (done < count) {
    const n = Math.min(100, count - done);
    for (let i = 0; i < n; i++) step();
    done += n;
    if (performance.now() >= deadline) break;
  }
  return done / ((performance.now() - start) / 1000);
}

function pair() {
  const alice = DeviceIdentity.generate();
  const bob = DeviceIdentity.generate();
  const [spk, spkDoc] = makeSignedPrekey(bob, "spk");
  const [otk, otkDoc] = makeOneTimePrekey(bob, "otk");
  const bundle = verifyBundle({ device_id: "B", device_keys: deviceKeysDocument(bob, "b@x", "B"), signed_prekey: spkDoc, one_time_prekey: otkDoc }, "b@x");
  const a = Session.initiate(alice, bundle);
  const [b] = Session.accept(bob, spk, otk, a.encrypt(new TextEncoder().encode("hi")));
  a.decrypt(b.encrypt(new TextEncoder().encode("hello")));
  return { alice, bob, a, b, bundle, spk, otk };
}

/** {ratchet_oneway_msgs_per_s, ratchet_alternating_msgs_per_s, x3dh_handshakes_per_s}. */
export async function benchmark(seconds = 1, count = 200_000) {
  await ready();
  const p = pair();
  const oneway = rate(() => p.b.decrypt(p.a.encrypt(MESSAGE)), seconds, count);
  const turn = [p.a, p.b];
  const alternating = rate(() => {
    turn.reverse();
    return turn[1].decrypt(turn[0].encrypt(MESSAGE));
  }, seconds, count);
  const x3dh = rate(() => {
    const sent = initiate(p.alice, p.bundle);
    return respond(p.bob, p.spk, p.otk, p.alice.signing.publicKey, p.alice.dh.publicKey, sent.ephemeralPublic);
  }, seconds, count);
  return { ratchet_oneway_msgs_per_s: Math.round(oneway), ratchet_alternating_msgs_per_s: Math.round(alternating), x3dh_handshakes_per_s: Math.round(x3dh) };
}
