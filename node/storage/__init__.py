"""Storage: all SQL of the node lives in this package."""
