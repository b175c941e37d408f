"""Keep invitation codes and set-password tokens out of server logs: the access log would
otherwise record /i/{code} and /console/set-password/{token}."""

import copy
import logging
import re
from typing import Any

from uvicorn.config import LOGGING_CONFIG

_CODE_IN_PATH = re.compile(r"(/i/|/console/set-password/)[^/?\s\"]+")
_CODE_IN_QUERY = re.compile(r"((?:code|invitation_code)=)[^&\s\"]+", re.IGNORECASE)


def redact(text: str) -> str:
    """Replace invitation codes and set-password tokens in a path or query string."""
    return _CODE_IN_QUERY.sub(r"\1[redacted]", _CODE_IN_PATH.sub(r"\1[redacted]", text))


class RedactInvitationCodes(logging.Filter):
    """Rewrites access-log records so no invitation code reaches a log handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's default logging, with the redaction filter on the access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_codes"] = {
        "()": "survey_api.log_redaction.RedactInvitationCodes"
    }
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_codes")
    return config
