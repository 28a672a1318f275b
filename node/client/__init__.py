"""The Python client SDK: an async ``Client`` that does all the cryptography.

    from node.client import Client

    client = await Client.login("https://shop.example", "anna", "password",
                                store="anna.kontor", passphrase="...")
    await client.send_text("bob@other.example", "Hello!")
    async for message in client.messages():
        print(message.sender, message.text)

Modules: ``client`` (the core: lifecycle, send, receive, history), ``sending``,
``receiving``, ``devices`` (keys and pins), ``media``, ``business``, ``team``,
``admin`` (the namespaces), ``content`` (typed content), ``models`` (events),
``errors``, ``transport``, ``store``. The SDK imports only ``crypto/``, the shared
``node.protocol`` definitions and federation's pure parts, never the server (a test
checks it).
"""

from node.client.client import Client
from node.client.content import (
    Content,
    File,
    Order,
    OrderItem,
    OrderStatus,
    Product,
    ReadReceipt,
    Text,
)
from node.client.errors import (
    ApiError,
    BadResponse,
    ClientError,
    Conflict,
    ConnectionFailed,
    ContentError,
    DeliveryFailed,
    DeviceRevoked,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    StoreError,
    Unauthorized,
    VerificationError,
)
from node.client.models import ArchiveEvent, Event, Message, Receipt

__all__ = [
    "ApiError", "ArchiveEvent", "BadResponse", "Client", "ClientError", "Conflict",
    "ConnectionFailed", "Content", "ContentError", "DeliveryFailed", "DeviceRevoked",
    "Event", "File", "Forbidden", "Message",
    "NotFound", "Order", "OrderItem", "OrderStatus", "Product", "RateLimited",
    "ReadReceipt", "Receipt", "ServerError", "StoreError", "Text", "Unauthorized",
    "VerificationError",
]
