"""Services: where the node decides. Handlers and the CLI call these.

One shape: a service is a frozen dataclass of what it needs (``accounts.Accounts``,
``messaging.Messaging``, ``history.History``, ``business.context.Business``), built once
per application during ``create_app``'s startup and kept under its ``node.appkeys``
key; its module's functions take it first (``messaging.send(m, who, ...)``). Functions
that need only the database (the operator's paths: ``accounts.create_account(db,
...)``) take the ``Database``; functions ending in ``_txn`` run inside its write
transaction. Long-running parts with a start and a stop (``FederationRuntime``,
``AutomationDevice``) are classes run by ``create_app``'s cleanup contexts.
"""
