"""Typed application state: every object the app holds, declared once."""

from __future__ import annotations

from aiohttp import web

from node.config import Config
from node.events import Hooks
from node.nodekey import NodeKey
from node.services.accounts import Accounts
from node.services.business.context import Business
from node.services.federation_runtime import FederationRuntime
from node.services.guests import Guests
from node.services.history import History
from node.services.keypins import KeyPins
from node.services.keys import Keys
from node.services.media import Media
from node.services.messaging import Messaging
from node.services.notifier import Notifier
from node.services.passwords import PasswordHasher
from node.services.presence import Presence
from node.services.ratelimit import RateLimiter
from node.services.routing import Router
from node.storage.db import Database

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
NODE_KEY = web.AppKey("node_key", NodeKey)
HOOKS = web.AppKey("hooks", Hooks)
NOTIFIER = web.AppKey("notifier", Notifier)
MESSAGING = web.AppKey("messaging", Messaging)
ACCOUNT_LIMITER = web.AppKey("account_limiter", RateLimiter)
ADDRESS_LIMITER = web.AppKey("address_limiter", RateLimiter)
PASSWORDS = web.AppKey("passwords", PasswordHasher)  # the bounded argon2id pool
LOGIN_FAILURES = web.AppKey("login_failures", RateLimiter)  # wrong passwords per account
FEDERATION = web.AppKey("federation", FederationRuntime)
BUSINESS = web.AppKey("business", Business)
HISTORY = web.AppKey("history", History)
ACCOUNTS = web.AppKey("accounts", Accounts)
GUESTS = web.AppKey("guests", Guests)
KEY_PINS = web.AppKey("key_pins", KeyPins)  # DNS key pins for browsers
KEYS = web.AppKey("keys", Keys)  # device keys and prekey claims of this node's accounts
MEDIA = web.AppKey("media", Media)  # this node's encrypted blobs
ROUTER = web.AppKey("router", Router)  # local or remote: keys, media, directory
PRESENCE = web.AppKey("presence", Presence)  # who on the team views which conversation


def _automation_key() -> web.AppKey:  # typed lazily: the device module imports the SDK
    from node.services.automation_device import AutomationDevice
    return web.AppKey("automation", AutomationDevice)


AUTOMATION = _automation_key()
