"""Kontor node: the server, its CLI and the client SDK."""

__version__ = "0.1.0"
