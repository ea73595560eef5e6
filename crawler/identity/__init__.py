"""Identity: what makes two items or two pages the same article (pure decisions)."""
