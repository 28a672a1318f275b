// kontor.js: the browser client SDK of Kontor.
//
//   import { Client } from "/_kontor/web/kontor.js";
//   const me = await Client.register(location.origin, "carl", "a long password", { deviceName: "laptop" });
//   // or, on a business's chat page, without typing anything: await registerGuest(location.origin);
//   await me.sendText("business@shop.example", "Do you deliver on Saturdays?");
//   for await (const m of me.messages()) console.log(m.sender, m.text, m.type, m.ts);
export const VERSION = "0.1.0";
export { ready } from "./crypto/sodium.js";
export { Client, Message, Receipt } from "./client.js";
export { ConversationEvent } from "./receive.js";
export { ArchiveEvent } from "./archiveevent.js";
export { guestStatus, leadingZeroBits, registerGuest, setPassword, solveChallenge } from "./guest.js";
export { ApiError, ClientError, ContentError, DeliveryError, DeliveryFailed, DeviceRevoked, StoreError, Unauthorized, VerificationError } from "./errors.js";
export * as errors from "./crypto/errors.js";
