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
