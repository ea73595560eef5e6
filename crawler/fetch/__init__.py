"""Fetching: HTTP with politeness, retries, conditional GET, limits and the address policy."""
