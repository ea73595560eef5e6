"""Maintenance: rebuilding state from the archive, checking it, and refetching articles."""
