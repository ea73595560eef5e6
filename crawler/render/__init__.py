"""Rendering: an article -> the archive file's text (front matter and body layout)."""
