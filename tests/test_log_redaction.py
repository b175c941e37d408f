"""Invitation codes never reach the server logs (the QR link /i/{code} is in every access line)."""

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from survey_api import migrate
from survey_api.log_redaction import RedactInvitationCodes, uvicorn_log_config

CODE = "ACDEFHJKMNPQ"


def access_record(path: str) -> logging.LogRecord:
    """A record exactly as uvicorn's access logger makes it."""
    return logging.LogRecord(
        name="uvicorn.access",
        level=logging.INFO,
        pathname=__file__,
        lineno=1,
        msg='%s - "%s %s HTTP/%s" %d',
        args=("127.0.0.1:5000", "GET", path, "1.1", 200),
        exc_info=None,
    )


@pytest.mark.parametrize(
    "path",
    [
        f"/i/{CODE}",
        f"/i/{CODE}/",
        f"/i/{CODE}?lang=ar",
        "/i/acde-fhjk-mnpq",
        f"/api/v1/x?invitation_code={CODE}",
        f"/form?code={CODE}&lang=sv",
    ],
)
def test_the_filter_hides_codes_in_access_log_records(path: str) -> None:
    record = access_record(path)
    assert RedactInvitationCodes().filter(record) is True  # the line is kept, only rewritten
    message = record.getMessage()
    assert CODE not in message.upper().replace("-", "")
    assert "[redacted]" in message
    assert message.startswith('127.0.0.1:5000 - "GET /')


def test_the_filter_leaves_other_paths_alone() -> None:
    record = access_record("/api/v1/rounds/12/results?by=kon")
    RedactInvitationCodes().filter(record)
    assert (
        record.getMessage()
        == '127.0.0.1:5000 - "GET /api/v1/rounds/12/results?by=kon HTTP/1.1" 200'
    )


def test_the_serve_log_config_filters_every_handler() -> None:
    config = uvicorn_log_config()
    assert (
        config["filters"]["redact_codes"]["()"] == "survey_api.log_redaction.RedactInvitationCodes"
    )
    assert config["handlers"] and all(
        "redact_codes" in handler["filters"] for handler in config["handlers"].values()
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_survey_api_serve_writes_no_codes_to_its_logs(tmp_path: Path) -> None:
    """The real `survey-api serve`, its real access log, a QR link and a code in a query."""
    url = f"sqlite:///{tmp_path / 'logs.sqlite'}"
    migrate.upgrade(url)
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "SURVEY_API_SECRET_KEY": "log-test-secret",
        "PYTHONUNBUFFERED": "1",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from survey_api.cli import main; sys.exit(main())",
            "serve",
            "--port",
            str(port),
        ],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120  # a loaded machine (xdist workers) starts slowly
        while True:
            try:
                httpx.get(f"{base}/api/v1/openapi.json", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, "survey-api serve exited"
                assert time.monotonic() < deadline, "survey-api serve did not start"
                time.sleep(0.1)
        statuses = [
            httpx.get(f"{base}/i/{CODE}", timeout=10).status_code,
            httpx.get(f"{base}/i/{CODE.lower()}?lang=sv", timeout=10).status_code,
            httpx.get(f"{base}/api/v1/areas?invitation_code={CODE}", timeout=10).status_code,
        ]
        time.sleep(0.5)
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
    assert all(s < 500 for s in statuses), (statuses, output)
    access_lines = [line for line in output.splitlines() if "/i/" in line]
    assert len(access_lines) >= 2, output  # the requests were logged, with the code hidden
    assert CODE not in output.upper(), output
    assert "[redacted]" in output
