// kontor.js: the browser client SDK of Kontor. `import { Client } from "/_kontor/web/kontor.js"`.
export const VERSION = "0.1.0";
export { ready } from "./crypto/sodium.js";
