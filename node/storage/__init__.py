"""Storage: all SQL of the node lives in this package (and federation's in
``federation/storage.py``).

Each table has one owner, the only module with SQL for it; others call its functions
(``docs/internals.md`` lists every table with its owner and contents):

- ``nodestore``: ``node_meta``, ``node_keys``;
- ``accounts``: ``accounts``, ``invites``, ``devices``, ``one_time_prekeys``,
  ``retired_addresses``, ``revoked_tokens``, ``guests``, ``guest_challenges``;
- ``messages``: ``events``, ``send_txns``, ``messages``, ``media``;
- ``history``: ``history_epochs``, ``history_holders``, ``history_items``;
- ``business`` (a package, one module per table group): every ``biz_*`` table (schema
  in ``business_migrations``);
- ``federation.storage``: every ``fed_*`` table.

``migrations`` holds the core schema (the tables of ``nodestore``, ``accounts`` and
``messages``); ``db`` the connections, the group-committed writes, the reads, and ``migrate``.
"""
