"""Feed crawler and archiver: feeds in, a clean dated archive of Markdown files out."""

__version__ = "0.1.0"
