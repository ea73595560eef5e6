"""Extraction: a fetched page -> its article body and metadata."""
