"""The business layer on the business's own node (WhatsApp-Business-like features).

Each module is one feature: ``profile`` and ``hours`` (the public profile and opening
hours), ``conversations`` (the team inbox, fed by the ``message.stored`` transaction
hook), ``labels``, ``quick_replies``, ``automation`` (greeting and away decisions),
``catalog`` and ``orders``, ``blocking``, ``stats``, ``datarights`` (export and
erasure) and ``retention``. ``wiring.install`` hooks them into the app. Services decide; all SQL is
in ``node.storage.business``.
"""
