// The app event of client.archive (archive.js), apart so that receive.js can revive it.

/** Something about this device's history (node/client/models.py's ArchiveEvent): `kind`
 * `device_added` (a new device `deviceId` named `name` of `address`: approve it with
 * `client.archive.approve(deviceId)` if it is the person's own), `history_approved`
 * (device `deviceId` gave this one the keys of the owner `address`; the download runs by
 * itself) or `erased` (the business erased the customer `address`; its local history is
 * gone from this device). */
export class ArchiveEvent {
  constructor(kind, address, deviceId, name, ts) {
    Object.assign(this, { kind, address, deviceId, name, ts });
  }

  toJSON() {
    const { kind, address, deviceId, name, ts } = this;
    return { kind: "archive", archive: kind, address, deviceId, name, ts };
  }
}
