"""Signing the business's public documents (profile, catalog) with the node key.

The documents are Matrix-style signed JSON (``crypto.signing``): the signature covers
the canonical JSON of the document without ``signatures`` and ``unsigned`` and is stored
as ``signatures[server_name][key_id]``. Peers verify them with the key document the node
publishes at ``/_kontor/federation/v1/keys``.
"""

from __future__ import annotations

from typing import Any

from crypto import keys as crypto_keys
from crypto import signing as crypto_signing
from crypto.errors import CryptoError
from node.nodekey import NodeKey


def sign_document(doc: dict[str, Any], server_name: str, node_key: NodeKey) -> dict[str, Any]:
    """A copy of ``doc`` signed by the node's current key."""
    key = crypto_keys.SigningKey.from_seed(node_key.seed)
    return crypto_signing.sign_json(doc, signer=server_name, key_id=node_key.key_id, key=key)


def verify_document(doc: dict[str, Any], server_name: str, key_id: str,
                    public_key: bytes) -> bool:
    """Whether ``doc`` carries a valid signature of ``server_name``'s ``key_id``."""
    try:
        crypto_signing.verify_json(doc, signer=server_name, key_id=key_id,
                                   public_key=public_key)
    except CryptoError:
        return False
    return True
