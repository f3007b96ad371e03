"""Copying a fixture store's tables and rows, as the tony that wrote it made them, into another database."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa


def copy_store_tables(database: Path, url: str) -> None:
    """Every table of the SQLite file `database`, with its rows, in the empty database at `url` (any backend)."""
    if url.startswith("sqlite"):
        Path(sa.engine.make_url(url).database or "").parent.mkdir(parents=True, exist_ok=True)
    source = sa.create_engine(f"sqlite:///{database}")
    target = sa.create_engine(url)
    try:
        tables = sa.MetaData()
        tables.reflect(bind=source)
        tables.create_all(target)
        with source.connect() as read, target.begin() as write:
            for table in tables.sorted_tables:
                rows = [dict(r) for r in read.execute(sa.select(table)).mappings()]
                if rows:
                    write.execute(table.insert(), rows)
    finally:
        source.dispose()
        target.dispose()
