// Errors the SDK raises (node/client/errors.py).

export class ClientError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}

/** The node answered with an error: HTTP status, machine code, message, details. */
export class ApiError extends ClientError {
  constructor(status, code, message, details = {}) {
    super(`${status} ${code}: ${message}`);
    Object.assign(this, { status, code, details });
    this.reason = message;
  }
}

/** 401: the device's token is not (or no longer) valid. */
export class Unauthorized extends ApiError {}

/**
 * 401 `DEVICE_REVOKED`: the node logged out or revoked this device, or removed its account
 * (also while it was away). By the time the app sees this error the SDK has deleted the
 * device's IndexedDB store (`client.wiped`); a copy taken before cannot be wiped. The
 * device cannot be used again: log in for a new one (node/client/errors.py).
 */
export class DeviceRevoked extends Unauthorized {
  constructor(message = "the node revoked this device; its local store is wiped: log in again for a new device", details = {}) {
    super(401, "DEVICE_REVOKED", message, details);
  }
}

/** The ApiError subclass for a node's answer (status and code). */
export function apiError(status, code, message, details = {}) {
  if (status === 401 && code === "DEVICE_REVOKED") return new DeviceRevoked(message, details);
  if (status === 401) return new Unauthorized(status, code, message, details);
  return new ApiError(status, code, message, details);
}

export class StoreError extends ClientError {}
export class VerificationError extends ClientError {}
export class ContentError extends ClientError {}
export class DeliveryError extends ClientError {}

/**
 * A message was not delivered: thrown by a send that cannot go out, and handed over by
 * `events()` when the node reports a sent message as undeliverable (`reason`: EXPIRED,
 * UNKNOWN_ACCOUNT, BLOCKED, ...; node/client/errors.py's DeliveryFailed).
 */
export class DeliveryFailed extends DeliveryError {
  constructor(message, { messageId = "", to = "", reason = "", ts = 0 } = {}) {
    super(message);
    Object.assign(this, { messageId, to, reason, ts });
  }

  toJSON() {
    const { messageId, to, reason, ts } = this;
    return { kind: "failed", messageId, to, reason, ts, message: this.message };
  }
}
