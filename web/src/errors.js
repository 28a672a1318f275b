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
