"""Services: where the node decides. Handlers and the CLI call these."""
