"""Archiving: an article composed into its file and committed to the archive atomically."""
