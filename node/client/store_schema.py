"""The tables of the SDK's local store (``node.client.store``); secret columns hold
sealed values only."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS prekeys (
    key_id TEXT PRIMARY KEY, kind TEXT NOT NULL, secret BLOB NOT NULL,
    created_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
    address TEXT NOT NULL, device_id TEXT NOT NULL, state BLOB NOT NULL,
    updated_ms INTEGER NOT NULL, PRIMARY KEY (address, device_id));
CREATE TABLE IF NOT EXISTS devices (
    address TEXT NOT NULL, device_id TEXT NOT NULL, identity_key TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0, first_seen_ms INTEGER NOT NULL,
    PRIMARY KEY (address, device_id));
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY, peer TEXT NOT NULL, sender TEXT NOT NULL,
    sender_device TEXT NOT NULL, outgoing INTEGER NOT NULL, ts INTEGER NOT NULL,
    content BLOB NOT NULL, delivered INTEGER NOT NULL DEFAULT 0,
    read INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS messages_by_peer ON messages (peer, ts);
CREATE TABLE IF NOT EXISTS handshakes (digest BLOB PRIMARY KEY, seen_ms INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, item_id TEXT NOT NULL, item BLOB NOT NULL);
"""
