"""Engine and session factories; one transaction per request."""

import asyncio
import logging
import select
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.orm import Session, sessionmaker

from survey_api.exceptions import ServiceUnavailable
from survey_api.log_redaction import redact

if TYPE_CHECKING:
    import psycopg

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


class PoolTimeout(Exception):
    """No connection of an :class:`AsyncPool` came free in time."""


class AsyncPool:
    """A few autocommit psycopg 3 connections to PostgreSQL, for asyncio routes.

    Only the submission fast path uses it (responses/fast.py): one statement is its whole
    transaction, so it needs neither BEGIN nor COMMIT, and an async route that awaits it never
    crosses into the thread pool. Plain psycopg, not SQLAlchemy's asyncio engine: for one
    prebuilt statement SQLAlchemy's pool, execution context and greenlet cost more CPU than the
    statement's own driver work (measured: benchmarks/README.md).

    Bounded like :func:`make_engine`'s pool (``size`` connections at most, a wait of at most
    ``wait_seconds`` for one, then :class:`PoolTimeout`; the caller answers 503). A connection
    goes back to the pool only when it is idle and healthy; instead of a pre-ping (a round
    trip), a checkout looks at the socket (:func:`_closed_by_server`). Connections are opened
    on first use and belong to the event loop that opened them.
    """

    def __init__(
        self, conninfo: str, *, url: str = "", size: int = 10, wait_seconds: float = 10.0
    ) -> None:
        self.conninfo = conninfo
        self.url = url  # str() of the synchronous engine's URL for the same database
        self.size = size
        self.wait_seconds = wait_seconds
        self._idle: list[psycopg.AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None

    @asynccontextmanager
    async def connection(self) -> AsyncIterator["psycopg.AsyncConnection[Any]"]:
        """A connection for one statement (autocommit), back in the pool afterwards."""
        import psycopg

        if self._slots is None:
            self._slots = asyncio.Semaphore(self.size)
        slots = self._slots
        try:
            if slots.locked():  # wait_for costs a task: only when a wait is possible
                await asyncio.wait_for(slots.acquire(), self.wait_seconds)
            else:
                await slots.acquire()
        except TimeoutError:
            wait = self.wait_seconds
            raise PoolTimeout(f"no database connection came free in {wait} s") from None
        try:
            connection = None
            while self._idle and connection is None:
                candidate = self._idle.pop()
                if _closed_by_server(candidate):
                    await candidate.close()
                else:
                    connection = candidate
            if connection is None:
                connection = await psycopg.AsyncConnection.connect(
                    self.conninfo,
                    autocommit=True,
                    connect_timeout=max(1, round(self.wait_seconds)),
                )
            try:
                yield connection
            finally:
                if (
                    connection.closed
                    or connection.broken
                    or (connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)
                ):
                    await connection.close()
                else:
                    self._idle.append(connection)
        finally:
            slots.release()

    async def close(self) -> None:
        """Close the idle connections (at shutdown)."""
        while self._idle:
            await self._idle.pop().close()


def make_async_pool(
    url: str, *, pool_size: int = 10, wait_seconds: float = 10.0
) -> AsyncPool | None:
    """The :class:`AsyncPool` for a PostgreSQL URL (psycopg 3); None for SQLite and other
    drivers, whose routes keep the synchronous engine."""
    sqlalchemy_url = make_url(normalise_url(url))
    if sqlalchemy_url.drivername != "postgresql+psycopg":
        return None
    conninfo = sqlalchemy_url.set(drivername="postgresql").render_as_string(hide_password=False)
    return AsyncPool(
        conninfo, url=str(sqlalchemy_url), size=2 * pool_size, wait_seconds=wait_seconds
    )


def _closed_by_server(connection: "psycopg.AsyncConnection[Any]") -> bool:
    """Whether the server has ended an idle pooled connection.

    An idle connection in autocommit mode has nothing to read unless the server ended it (a
    restart, pg_terminate_backend, an idle timeout): then its socket is readable (the server's
    farewell, or end of file). One poll, no round trip. (A peer that vanished without a word is
    caught by neither this nor a pre-ping until the network gives up; the statement then fails
    and the request answers 503.)
    """
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.pgconn.socket, select.POLLIN)
    return bool(poller.poll(0))


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
