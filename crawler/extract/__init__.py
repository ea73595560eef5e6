"""Extraction: a fetched page -> its article body and metadata (site rules, automatic extraction)."""
