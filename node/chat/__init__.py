"""``kontor chat``: the terminal chat client on the SDK (``node.cli_chat`` starts it).

``terminal`` keeps the input line apart from arrivals, ``session`` runs the loop and the
outbox, ``commands`` the slash commands, ``render`` turns messages, profiles and
catalogs into text.
"""
