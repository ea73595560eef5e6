"""Raw records and kept images on PostgreSQL (the tables of postgres_schema.RAW_AND_IMAGES): which WARC record each
archived article was made from (`raw: warc`), each image kept by URL, and the images an archived article could not
keep yet (`images: keep`). The SQLite side is store/sqlite_raw.py and store/sqlite_images.py; the contract in
tests/store/test_warc_images_contract.py runs on both.

`PostgresRawImages` is mixed into PostgresStore. None of these writes is fenced by a feed's lease: a raw record and
a kept image describe files already durable in the archive, whichever node wrote them.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from crawler.store.base import RawRecord
from crawler.store.postgres_rows import Conn

_RAW_COLUMNS = 'filename, "offset", length, url, timestamp, status, mime, digest'


class PostgresRawImages:
    """The Store's raw-record and image methods on PostgreSQL (mixed into PostgresStore, which gives `_write` and
    `_rows`)."""

    def _write(self) -> AbstractAsyncContextManager[Conn]:
        raise NotImplementedError  # PostgresStore's: a connection in a transaction

    async def _rows(self, sql: str, args: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError  # PostgresStore's: one read's rows

    async def record_raw_all(self, records: Sequence[tuple[str, RawRecord]]) -> None:
        """Record (or replace) the raw record of each article id, in one transaction."""
        if not records:
            return
        async with self._write() as conn, conn.cursor() as cursor:
            await cursor.executemany(
                'INSERT INTO raw_records (article_id, filename, "offset", length, url, timestamp, status, mime, '
                "digest) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (article_id) DO UPDATE SET "
                'filename = EXCLUDED.filename, "offset" = EXCLUDED."offset", length = EXCLUDED.length, '
                "url = EXCLUDED.url, timestamp = EXCLUDED.timestamp, status = EXCLUDED.status, "
                "mime = EXCLUDED.mime, digest = EXCLUDED.digest",
                [(article_id, *record.row()) for article_id, record in records],
            )

    async def raw_record(self, article_id: str) -> RawRecord | None:
        """The raw record article `article_id` was made from, or None (archived without `raw: warc`)."""
        rows = await self._rows(f"SELECT {_RAW_COLUMNS} FROM raw_records WHERE article_id = %s", (article_id,))
        return RawRecord.of_row(rows[0]) if rows else None

    async def record_kept_image(self, url: str, name: str) -> None:
        """`url` is kept in the archive as `name`."""
        async with self._write() as conn:
            await conn.execute(
                "INSERT INTO kept_images (url, name) VALUES (%s, %s) ON CONFLICT (url) DO UPDATE SET name = "
                "EXCLUDED.name",
                (url, name),
            )

    async def kept_images(self, urls: Sequence[str]) -> dict[str, str]:
        """The kept name of each of `urls` that was kept."""
        if not urls:
            return {}
        rows = await self._rows("SELECT url, name FROM kept_images WHERE url = ANY(%s)", (list(urls),))
        return {str(url): str(name) for url, name in rows}

    async def record_missing_images(self, feed: str, article_id: str, urls: Sequence[str]) -> None:
        """Replace the article's missing images with `urls` (none: all kept); those still missing keep the time
        they first went missing."""
        async with self._write() as conn:
            await conn.execute(
                "DELETE FROM missing_images WHERE article_id = %s AND NOT (url = ANY(%s))", (article_id, list(urls))
            )
            if not urls:
                return
            async with conn.cursor() as cursor:
                await cursor.executemany(
                    "INSERT INTO missing_images (article_id, url, feed, since) VALUES (%s, %s, %s, %s) "
                    "ON CONFLICT (article_id, url) DO NOTHING",
                    [(article_id, url, feed, time.time()) for url in urls],
                )

    async def articles_missing_images(self, feed: str, limit: int) -> list[tuple[str, str]]:
        """Up to `limit` (article id, path) of the feed's archived articles that miss images, longest waiting
        first."""
        rows = await self._rows(
            "SELECT m.article_id, a.path FROM missing_images m JOIN articles a ON a.id = m.article_id "
            "WHERE m.feed = %s GROUP BY m.article_id, a.path ORDER BY MIN(m.since) LIMIT %s",
            (feed, limit),
        )
        return [(str(row[0]), str(row[1])) for row in rows]
