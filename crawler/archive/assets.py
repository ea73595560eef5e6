"""Kept images (`images: keep`) on disk: `<archive>/assets/ab/cdef….jpg`, named by the SHA-256 of their bytes, so
an image shown by a thousand articles is stored once, and written atomically (a reader sees the whole file or none).
Only raster types a browser shows as an image are kept: an SVG may carry script, and served from the site's own
origin it would run there.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from crawler.archive.files import ArchiveError

FOLDER = "assets"
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/pjpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/avif": ".avif",
    "image/bmp": ".bmp",
    "image/x-icon": ".ico",
    "image/vnd.microsoft.icon": ".ico",
}


def extension(content_type: str | None) -> str | None:
    """The file extension an image of `content_type` is kept under, or None when it is not kept."""
    essence = (content_type or "").split(";", 1)[0].strip().lower()
    return EXTENSIONS.get(essence)


def relative_name(content: bytes, ext: str) -> str:
    """`assets/ab/cdef….ext` for these bytes."""
    digest = hashlib.sha256(content).hexdigest()
    return f"{FOLDER}/{digest[:2]}/{digest[2:]}{ext}"


def keep(archive: Path, content: bytes, ext: str) -> str:
    """Store an image once under the archive; return its archive-relative name. ArchiveError when it cannot be."""
    name = relative_name(content, ext)
    target = archive / name
    if target.exists():
        return name
    temp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with open(temp, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise ArchiveError(f"cannot keep an image as {target}: {exc.strerror or exc}") from None
    return name
