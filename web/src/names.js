// Small helpers on addresses shared by the Client's modules.

/** The key of a (peer address, device id) pair in the sessions and devices stores. */
export const sessionKey = (address, deviceId) => `${address}\0${deviceId}`;

/** The kv record of devices_changed reports waiting to be repaired (sending.js). */
export const REPAIRS = "fanout_repairs";

/** The server name of an address `local@server`. */
export const serverOf = (address) => address.slice(address.indexOf("@") + 1);

/** Copy the methods of `mixin`'s prototype onto `target`'s (the Client is built of parts). */
export function mixin(target, ...mixins) {
  for (const source of mixins) {
    for (const name of Object.getOwnPropertyNames(source.prototype)) {
      if (name === "constructor") continue;
      if (Object.prototype.hasOwnProperty.call(target.prototype, name)) throw new Error(`Client method ${name} defined twice`);
      Object.defineProperty(target.prototype, name, Object.getOwnPropertyDescriptor(source.prototype, name));
    }
  }
}
