"""Engine and session factories; one transaction per request."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from survey_api.exceptions import ServiceUnavailable
from survey_api.log_redaction import redact

logger = logging.getLogger("survey_api")


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain postgresql:// URLs."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, wait_seconds: float = 10.0
) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    ``wait_seconds`` bounds how long a request waits for the database: SQLite's busy timeout
    (one writer at a time) and, on PostgreSQL, for a pooled connection and to connect. Past it
    the request gets 503 with Retry-After instead of hanging.
    """
    url = normalise_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": wait_seconds}
    else:
        kwargs.update(
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            pool_timeout=wait_seconds,
            connect_args={"connect_timeout": max(1, round(wait_seconds))},
        )
    engine = create_engine(url, **kwargs)
    if engine.dialect.name == "sqlite":
        busy_ms = round(wait_seconds * 1000)
        event.listen(engine, "connect", lambda conn, record: _sqlite_pragmas(conn, record, busy_ms))
        # pysqlite's own transaction handling defers BEGIN; emit it ourselves so a
        # read-then-write transaction takes the write lock up front (no upgrade deadlocks).
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_ms: int) -> None:
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def db_unavailable(error: Exception, method: str, path: str) -> ServiceUnavailable:
    """The 503 for a database that is down, restarting or busy, logged as one line.

    OperationalError covers a refused or dropped connection, SQLite's "database is locked"
    after the busy timeout, and PostgreSQL's deadlock and serialization failures; a pool
    timeout is SQLAlchemy's TimeoutError. All of them are worth a retry.
    """
    first_line = str(getattr(error, "orig", None) or error).strip().splitlines()[:1]
    logger.warning(
        "database unavailable on %s %s: %s: %s",
        method,
        redact(path),
        type(getattr(error, "orig", None) or error).__name__,
        first_line[0] if first_line else "",
    )
    return ServiceUnavailable(
        "the database is unavailable or busy just now; "
        f"try again in {ServiceUnavailable.retry_after} seconds"
    )


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded values after commit (responses serialise after it)."""
    return sessionmaker(engine, expire_on_commit=False, autoflush=False)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose one transaction commits when the block ends, or rolls back on error."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def get_session(request: Request) -> Iterator[Session]:
    """One session and one transaction per request, committed before the response is sent.

    Used with ``Depends(get_session, scope="function")`` so that a failed commit becomes an
    error response instead of a write lost after the client was told it succeeded.
    """
    with transaction(request.app.state.sessionmaker) as session:
        yield session
