"""Which servers this node federates with: ``[federation] allow`` and ``deny``.

One rule for both directions. Inbound, a request from a server the policy does not
permit is refused before anything is read (403 ``ORIGIN_DENIED``). Outbound, the
``FederationClient`` refuses to contact such a server (every signed or public request,
key fetches and media included) and ``storage.enqueue_txn`` refuses to queue anything
for it, raising ``DestinationDenied`` (403 ``DESTINATION_DENIED``) before a byte leaves
or a row is written.
"""

from __future__ import annotations

from dataclasses import dataclass

from federation.errors import FederationError


class DestinationDenied(FederationError):
    """The local policy does not federate with ``destination``."""

    status = 403
    code = "DESTINATION_DENIED"

    def __init__(self, destination: str) -> None:
        super().__init__(f"this node does not federate with {destination} (its operator's "
                         "[federation] allow / deny lists)")
        self.destination = destination


@dataclass(frozen=True)
class ServerPolicy:
    """Deny wins; a non-empty allow list admits only the servers it names."""

    allow: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def permits(self, server: str) -> bool:
        name = server.lower()
        return name not in self.deny and (not self.allow or name in self.allow)

    def check(self, server: str) -> None:
        """DestinationDenied unless the policy permits ``server``."""
        if not self.permits(server):
            raise DestinationDenied(server)
