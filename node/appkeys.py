"""Typed application state: every object the app holds, declared once."""

from __future__ import annotations

from aiohttp import web

from node.config import Config
from node.nodekey import NodeKey
from node.storage.db import Database

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
NODE_KEY = web.AppKey("node_key", NodeKey)
