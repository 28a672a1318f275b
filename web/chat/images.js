// Pictures on the chat page, as object URLs the CSP allows (img-src blob:): the business's
// public images (its logo, its products': plain bytes on its node, checked against their id,
// the SHA-256 of the bytes, as node/client/business.py's image() checks them), and the
// decrypted media of messages (kontor.js checks and decrypts them).
import { b64encode } from "../src/crypto/bytes.js";
import { serverOf } from "../src/names.js";

const MAX_IMAGE = 16 * 1024 * 1024;
export const PREVIEWED = /^image\/(png|jpeg|gif|webp)$/;

export class Pictures {
  constructor(client, business) {
    Object.assign(this, { client, business, urls: new Map(), loading: new Map() });
  }

  /** The object URL of a public image of the business, or null when it does not check. */
  publicImage(mediaId) {
    return this.once(`public:${mediaId}`, async () => {
      const server = serverOf(this.business);
      const resp = await this.client.transport.downloadMedia(mediaId, server === serverOf(this.client.address) ? null : server);
      const blob = await resp.blob();
      if (blob.size > MAX_IMAGE) throw new Error("the image is too large");
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", await blob.arrayBuffer()));
      if (b64encode(digest) !== mediaId) throw new Error("the image does not match its id");
      return blob;
    });
  }

  /** The object URL of a media message's decrypted content. */
  media(message) {
    return this.once(`media:${message.messageId}`, () => this.client.downloadMedia(message));
  }

  /** `make()` once per key (a Blob), its object URL remembered; null when it failed. */
  once(key, make) {
    if (this.urls.has(key)) return Promise.resolve(this.urls.get(key));
    if (!this.loading.has(key)) {
      this.loading.set(key, make().then((blob) => {
        const url = URL.createObjectURL(blob);
        this.urls.set(key, url);
        return url;
      }).catch(() => { this.urls.set(key, null); return null; }));
    }
    return this.loading.get(key);
  }
}

/** An <img> that fills in when `promise` gives its URL (removed when it gives null). */
export function pictureInto(img, promise) {
  promise.then((url) => { if (url) img.src = url; else img.remove(); });
  return img;
}

/** Offer `blob` as a download named `name` (an <a download> clicked, then forgotten). */
export function saveBlob(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name || "file";
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
