"""Built-in checks, one module per area; each module registers its checks on import."""
