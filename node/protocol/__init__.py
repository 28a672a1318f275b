"""Protocol definitions the node and the client SDK share.

Pure code (no I/O except the DNS lookup of a key pin, no storage, no configuration),
importing only ``crypto/`` and federation's pure parts, so that the SDK stands alone:

- ``content``: the types of end-to-end encrypted message content, their checks, padding;
- ``placeholders``: the placeholders of quick replies and automated texts, their check,
  the values they take and their expansion;
- ``currencies``: ISO 4217 codes with their minor units, and amounts as text;
- ``documents``: checking a business's signed profile or catalog and its DNS key pin;
- ``errors``: what these raise (``ProtocolError`` and its subclasses).
"""
