"""Backup and restore of the whole database, while the service runs.

SQLite: the online backup API (`sqlite3.Connection.backup`) copies a consistent snapshot page by
page while other connections keep writing; the copy is an ordinary SQLite file. Restoring copies
it back the same way into the configured database file.

PostgreSQL: `pg_dump --format=custom` takes a consistent snapshot (one repeatable-read
transaction) without blocking writers, and `pg_restore` loads it. Both come with PostgreSQL's
client tools (Debian: postgresql-client), which must be at least the server's major version.
"""

import shutil
import sqlite3
import subprocess
from glob import glob
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import make_url

from survey_api.db import make_engine, normalise_url


class BackupError(Exception):
    """A backup or restore that could not be done, with the reason for the operator."""


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(database)


def _libpq_url(url: str) -> str:
    """The URL as PostgreSQL's own tools take it (no SQLAlchemy driver suffix)."""
    return (
        make_url(normalise_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise BackupError(f"{name} was not found: install PostgreSQL's client tools")
    return found


def _run(command: list[str]) -> None:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed: {done.stderr.strip()}")


def backup(url: str, path: Path) -> None:
    """Write a consistent copy of the database at ``url`` to ``path`` (refuses to overwrite)."""
    if path.exists():
        raise BackupError(f"{path} exists; choose a new file name")
    path.parent.mkdir(parents=True, exist_ok=True)
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={path}", _libpq_url(url)])


def restore(url: str, path: Path, *, force: bool = False) -> None:
    """Load a backup into the database at ``url``, which must be empty unless ``force``."""
    if not path.is_file():
        raise BackupError(f"{path} is not a backup file")
    engine = make_engine(url)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables and not force:
        raise BackupError(
            f"the database at {make_url(url).render_as_string()} is not empty "
            f"({len(tables)} tables); restore into a new database, or pass --force to replace it"
        )
    if make_url(url).get_backend_name() == "sqlite":
        source = sqlite3.connect(path)
        target = sqlite3.connect(_sqlite_path(url))
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return
    _run(
        [
            _pg_tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            *(["--clean", "--if-exists"] if force else []),
            f"--dbname={_libpq_url(url)}",
            str(path),
        ]
    )
