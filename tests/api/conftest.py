"""API-test fixtures: every test here also fails if the server logged an unhandled error."""

import logging
from collections.abc import Iterator

import pytest


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def no_server_errors() -> Iterator[None]:
    """Fail the test if the live server answered anything with a 500 (it logs every one)."""
    handler = _Collect()
    # survey_api logs each unhandled exception before answering 500; uvicorn.error logs
    # exceptions that escape the application altogether.
    loggers = [logging.getLogger("survey_api"), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    messages = [
        f"{r.name}: {r.getMessage()}\n{logging.Formatter().formatException(r.exc_info)}"
        if r.exc_info
        else f"{r.name}: {r.getMessage()}"
        for r in handler.records
    ]
    assert not messages, "the server failed while handling a request:\n" + "\n".join(messages)
