// HTTP calls to the client API, one method per route (node/client/transport.py);
// errors become ApiError. The WebSocket carries the token as a subprotocol
// ("kontor-bearer.<token>"), since browsers cannot set its Authorization header.
import { ApiError, DeviceRevoked, apiError } from "./errors.js";

export const PREFIX = "/_kontor/client/v1";
export const WS_PROTOCOL = "kontor.v1";
export const BEARER_PROTOCOL = "kontor-bearer.";
/** The close code of a revoked device's WebSocket (docs/protocol.md, "Revocation"). */
export const WS_CLOSE_DEVICE_REVOKED = 4001;
const MAX_RESPONSE = 16 * 1024 * 1024;

async function decode(resp) {
  const raw = await resp.arrayBuffer();
  if (raw.byteLength > MAX_RESPONSE) throw new ApiError(resp.status, "RESPONSE_TOO_LARGE", "the node's answer is too large");
  let body = {};
  if (raw.byteLength) {
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch {
      throw new ApiError(resp.status, "BAD_RESPONSE", "the node did not answer with JSON");
    }
  }
  if (resp.status >= 400) {
    const err = body && typeof body === "object" && body.error && typeof body.error === "object" ? body.error : {};
    const { code, message, ...details } = err;
    throw apiError(resp.status, String(code ?? "HTTP_ERROR"), String(message ?? `HTTP ${resp.status}`), details);
  }
  return body;
}

/** A node's client API. */
export class Transport {
  constructor(baseUrl, token = null) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.token = token;
    /** Awaited when the node says DEVICE_REVOKED, before the error is thrown: the Client
     * wipes its store there. */
    this.onRevoked = null;
  }

  /** The JSON of an answer; a DEVICE_REVOKED one calls `onRevoked` first. */
  async decode(resp) {
    try {
      return await decode(resp);
    } catch (err) {
      if (err instanceof DeviceRevoked) await this.revoked();
      throw err;
    }
  }

  /** The node said DEVICE_REVOKED (an answer or the socket's close code 4001). */
  async revoked() {
    if (this.onRevoked) await this.onRevoked();
  }

  headers(extra = {}) {
    return this.token ? { Authorization: `Bearer ${this.token}`, ...extra } : extra;
  }

  url(path, params = undefined) {
    const url = new URL(this.baseUrl + PREFIX + path);
    for (const [k, v] of Object.entries(params ?? {})) url.searchParams.set(k, String(v));
    return url.toString();
  }

  async request(method, path, body = undefined, params = undefined) {
    const init = { method, headers: this.headers(), cache: "no-store", referrerPolicy: "no-referrer" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    return this.decode(await fetch(this.url(path, params), init));
  }

  register(username, password, invite, deviceName) {
    const body = { username, password, device_name: deviceName };
    if (invite) body.invite = invite;
    return this.request("POST", "/register", body);
  }

  login(username, password, deviceName) {
    return this.request("POST", "/login", { username, password, device_name: deviceName });
  }

  logout() {
    return this.request("POST", "/logout", {});
  }

  account() {
    return this.request("GET", "/account");
  }

  async uploadKeys(body) {
    return (await this.request("PUT", "/keys", body)).one_time_prekeys;
  }

  async prekeyCount() {
    return (await this.request("GET", "/keys/count")).one_time_prekeys;
  }

  async devices(address) {
    return (await this.request("GET", `/keys/devices/${encodeURIComponent(address)}`)).devices;
  }

  async claim(address, deviceIds = undefined) {
    const body = { address };
    if (deviceIds !== undefined) body.device_ids = deviceIds;
    return (await this.request("POST", "/keys/claim", body)).devices;
  }

  send(txnId, sender, to, envelopes, repair = null) {
    const body = { from: sender, to, envelopes };
    if (repair !== null) body.repair = repair;
    return this.request("PUT", `/send/${txnId}`, body);
  }

  sync(since, timeoutMs = 0, limit = 100, signal = undefined) {
    const init = { headers: this.headers(), cache: "no-store", signal };
    return fetch(this.url("/sync", { since, timeout: timeoutMs, limit }), init).then((resp) => this.decode(resp));
  }

  ack(upTo) {
    return this.request("POST", "/sync/ack", { up_to: upTo });
  }

  /** Upload encrypted bytes (a Blob or bytes); the answer has media_id and size. */
  async uploadMedia(body) {
    const resp = await fetch(this.url("/media"), {
      method: "POST", body, cache: "no-store",
      headers: this.headers({ "Content-Type": "application/octet-stream" }),
    });
    return this.decode(resp);
  }

  /** The response of a media download (its body is read as a stream by the caller). */
  async downloadMedia(mediaId, server = null) {
    const resp = await fetch(this.url(`/media/${encodeURIComponent(mediaId)}`, server ? { server } : undefined), { headers: this.headers(), cache: "no-store" });
    if (resp.status !== 200) await this.decode(resp);
    return resp;
  }

  /** A WebSocket to /ws from `since`, authenticated by subprotocol. */
  websocket(since) {
    const url = new URL(this.url("/ws", { since }));
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return new WebSocket(url.toString(), [WS_PROTOCOL, BEARER_PROTOCOL + this.token]);
  }
}
