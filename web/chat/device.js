// This browser's guest device for the chat page: opened from IndexedDB when it exists,
// else created without typing anything (registerGuest, a proof of work of about a second,
// shown as progress). Its own store, apart from a team device of /app/ on the same node.
import { Client, registerGuest } from "../src/kontor.js";

export const STORE = "chat";

/** A name for the device the guest can recognise later ("Chrome on Linux"). */
export function browserName() {
  const ua = navigator.userAgent;
  const browser = /Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrom/.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser";
  const os = /Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac OS/.test(ua) ? "macOS" : /Windows/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "";
  return os ? `${browser} on ${os}` : browser;
}

/**
 * The Client of this browser's chat; `onProgress(fraction)` (0 to 1, the chance that the
 * proof of work would be found by now) while a new guest is created.
 */
export async function openDevice(onProgress) {
  if (await Client.exists({ store: STORE })) return Client.open({ store: STORE });
  return registerGuest(location.origin, {
    deviceName: browserName(), store: STORE,
    onProgress: (tries, expected) => onProgress(1 - Math.exp(-tries / expected)),
  });
}
