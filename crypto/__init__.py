"""Kontor's end-to-end cryptography: pure functions over libsodium and the standard library.

No I/O, no configuration, nothing imported from node/ or federation/. Modules:
errors, encoding, canonicaljson, kdf, keys, signing, fingerprint, identity (+ verify),
x3dh, ratchet, session, media. The exact constructions are in docs/crypto.md.
"""
