// One error hierarchy for the crypto layer, the same names as crypto/errors.py.

export class CryptoError extends Error {
  constructor(message) {
    super(message);
    this.name = new.target.name;
  }
}
export class EncodingError extends CryptoError {}
export class CanonicalJsonError extends CryptoError {}
export class InvalidKey extends CryptoError {}
export class SignatureError extends CryptoError {}
export class BundleError extends CryptoError {}
export class DecryptionError extends CryptoError {}
export class DuplicateMessage extends DecryptionError {}
export class TooManySkipped extends DecryptionError {}
export class SessionStateError extends CryptoError {}
export class MessageTooLarge extends CryptoError {}
export class MediaError extends CryptoError {}
export class HistoryError extends CryptoError {}
