// The Client's knowledge of other devices (node/client/devices.py): identity keys pinned
// on first use and refused when they change, safety numbers, and verified devices.
import { b64decode, b64encode, equal } from "./crypto/bytes.js";
import { safetyNumber } from "./crypto/fingerprint.js";
import { verifyDeviceKeys } from "./crypto/verify.js";
import { VerificationError } from "./errors.js";
import { serverOf, sessionKey } from "./names.js";

/** Mixed into Client: pinned and verified devices. */
export class Devices {
  /** Whose keys a listed device holds: a team member's, for a business address. */
  keysOwner(address, entry) {
    const owner = entry.account ?? address;
    if (typeof owner !== "string" || serverOf(owner) !== serverOf(address)) throw new VerificationError(`a device listed for ${address} belongs to another server`);
    return owner;
  }

  /** Pin a device's two identity keys on first sight; refuse it when they change. */
  async trustOnFirstUse(address, deviceId, keys) {
    const pinned = b64encode(new Uint8Array([...keys.signingKey, ...keys.identityKey]));
    const id = sessionKey(address, deviceId);
    const known = await this.store.get("devices", id);
    if (known) {
      if (known.identity_key !== pinned) throw new VerificationError(`the identity key of ${address} device ${deviceId} changed; refusing it (the device must log in anew)`);
      return;
    }
    await this.store.write([["put", "devices", id, { identity_key: pinned, verified: false, first_seen_ms: Date.now() }]]);
  }

  /** [Ed25519, X25519] pinned for a device, or null. */
  async pinned(address, deviceId) {
    const known = await this.store.get("devices", sessionKey(address, deviceId));
    if (!known) return null;
    const both = b64decode(known.identity_key);
    if (both.length !== 64) throw new VerificationError(`damaged key record for ${address}/${deviceId}`);
    return [both.slice(0, 32), both.slice(32)];
  }

  /** The device's pinned identity keys, fetched and pinned on first sight. */
  async learnDevice(address, deviceId) {
    const pinned = await this.pinned(address, deviceId);
    if (pinned) return pinned;
    for (const entry of await this.transport.devices(address)) {
      if (entry.device_id !== deviceId) continue;
      const keys = verifyDeviceKeys(entry.device_keys, this.keysOwner(address, entry), deviceId);
      await this.trustOnFirstUse(address, deviceId, keys);
      return [keys.signingKey, keys.identityKey];
    }
    throw new VerificationError(`${address} has no device ${deviceId}`);
  }

  /** {device id: safety number} of `address`'s devices with this device. */
  async safetyNumbers(address) {
    const out = {};
    for (const entry of await this.transport.devices(address)) {
      const keys = verifyDeviceKeys(entry.device_keys, this.keysOwner(address, entry), entry.device_id);
      await this.trustOnFirstUse(address, entry.device_id, keys);
      out[entry.device_id] = safetyNumber(this.address, this.identity.signing.publicKey, keys.address, keys.signingKey);
    }
    return out;
  }

  /** Mark the device verified when `number` matches; false otherwise. */
  async verify(address, deviceId, number) {
    const expected = (await this.safetyNumbers(address))[deviceId];
    const clean = (s) => new TextEncoder().encode(s.replaceAll(" ", ""));
    const ok = expected !== undefined && equal(clean(expected), clean(number));
    if (ok) {
      const id = sessionKey(address, deviceId);
      const known = await this.store.get("devices", id);
      await this.store.write([["put", "devices", id, { ...known, verified: true }]]);
    }
    return ok;
  }

  async isVerified(address, deviceId) {
    return Boolean((await this.store.get("devices", sessionKey(address, deviceId)))?.verified);
  }
}
