"""The Python client SDK: an async ``Client`` that does all the cryptography.

    from node.client import Client

    client = await Client.login("https://shop.example", "anna", "password",
                                store="anna.kontor", passphrase="...")
    await client.send_text("bob@other.example", "Hello!")
    async for message in client.messages():
        print(message.sender, message.text)

The SDK imports only ``crypto/``, the shared ``node.protocol`` definitions and
federation's pure parts, never the server (a test checks it).
"""

from node.client.client import Client, Message, Receipt
from node.client.errors import (
    ApiError,
    ClientError,
    ContentError,
    DeliveryError,
    StoreError,
    VerificationError,
)

__all__ = ["ApiError", "Client", "ClientError", "ContentError", "DeliveryError", "Message",
           "Receipt", "StoreError", "VerificationError"]
