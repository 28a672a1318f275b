// The one libsodium of the SDK (libsodium-wrappers-sumo: the same C library PyNaCl wraps).
// Every primitive comes from it or from WebCrypto; none is written here.
import sodium from "libsodium-wrappers-sumo";

export { sodium };

/** Resolves once libsodium's WebAssembly is loaded; call before any other function. */
export async function ready() {
  await sodium.ready;
  return sodium;
}
