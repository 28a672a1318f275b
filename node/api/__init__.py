"""HTTP handlers: parse and validate, call a service, return JSON."""
