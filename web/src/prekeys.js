// The Client's prekeys (node/client/client.py's key half): new prekeys are stored before
// they are uploaded, topped up when few are left, and the signed prekey rotated weekly.
import { deviceKeysDocument, makeOneTimePrekey, makeSignedPrekey } from "./crypto/identity.js";
import { withLock } from "./locks.js";
import { Batch } from "./store.js";

export const PREKEY_BATCH = 50;
export const PREKEY_LOW_WATER = 20;
const SIGNED_PREKEY_MAX_AGE_MS = 7 * 24 * 3600 * 1000;

/** Mixed into Client: this device's prekeys. */
export class Prekeys {
  /** New prekeys, their private halves stored before they are uploaded. */
  async newPrekeys(oneTime, signed) {
    return withLock(this.lockName, async () => {
      const batch = new Batch(this.store);
      let counter = (await batch.getJson("kv", "key_counter")) ?? 0;
      const out = { one_time_prekeys: [] };
      const now = Date.now();
      if (signed) {
        const keyId = `s${++counter}`;
        const [key, doc] = makeSignedPrekey(this.identity, keyId);
        batch.put("prekeys", keyId, key.private, { kind: "spk", created_ms: now });
        batch.putJson("kv", "signed_prekey", { key_id: keyId, created_ms: now });
        out.signed_prekey = doc;
      }
      for (let i = 0; i < oneTime; i++) {
        const keyId = `o${++counter}`;
        const [key, doc] = makeOneTimePrekey(this.identity, keyId);
        batch.put("prekeys", keyId, key.private, { kind: "otk", created_ms: now });
        out.one_time_prekeys.push(doc);
      }
      batch.putJson("kv", "key_counter", counter);
      await batch.commit();
      if (!out.one_time_prekeys.length) delete out.one_time_prekeys;
      return out;
    });
  }

  async uploadInitialKeys() {
    const body = await this.newPrekeys(PREKEY_BATCH, true);
    body.device_keys = deviceKeysDocument(this.identity, this.address, this.deviceId);
    await this.transport.uploadKeys(body);
  }

  /** Upload one-time prekeys when few are left and rotate an old signed prekey. */
  async topUpPrekeys() {
    let count = await this.transport.prekeyCount();
    const current = (await this.store.getJson("kv", "signed_prekey")) ?? {};
    const rotate = Date.now() - (current.created_ms ?? 0) > SIGNED_PREKEY_MAX_AGE_MS;
    const oneTime = count < PREKEY_LOW_WATER ? PREKEY_BATCH : 0;
    if (!oneTime && !rotate) return count;
    const body = await this.newPrekeys(oneTime, rotate);
    count = await this.transport.uploadKeys(body);
    if (rotate) await this.forgetOldSignedPrekeys(current.key_id);
    return count;
  }

  async forgetOldSignedPrekeys(keep) {
    const current = (await this.store.getJson("kv", "signed_prekey"))?.key_id;
    const old = (await this.store.all("prekeys")).filter((r) => r.kind === "spk" && r.key !== current && r.key !== keep);
    await this.store.write(old.map((r) => ["delete", "prekeys", r.key]));
  }
}
