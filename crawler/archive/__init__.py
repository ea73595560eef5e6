"""The archive: text -> file on disk, atomically, at its dated path."""
