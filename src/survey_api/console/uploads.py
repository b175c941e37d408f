"""What the console's two-step imports share: a previewed file may be imported only if it is
the very file the preview showed, to the very session that saw it.

The preview signs what it showed with an HMAC (the server's secret key, this session's CSRF
token, the import's purpose and the file or its identity); the confirmation recomputes it
over what it is about to import and refuses on any difference.

Small files (the areas CSV) travel back in the confirmation form itself. A file of past
surveys may be 200 MB, too big to send to the browser and back, so it is *kept* on the
server instead: copied at the preview to a file named by a random token in a private
temporary directory, found again by that token at the confirmation (the token is signed with
the file's SHA-256, so neither another token nor a changed file on disk passes), deleted after
the import, and swept away after an hour when nobody confirms. The directory is on the host
that served the preview: several hosts behind a load balancer need it on shared storage (or
sticky sessions), like any temporary upload.
"""

import hashlib
import hmac
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from typing import BinaryIO

from fastapi import Request

from survey_api.config import Settings
from survey_api.staff.service import StaffPrincipal

#: An unconfirmed previewed file is deleted after this many seconds.
KEPT_SECONDS = 3600
_TOKEN_BYTES = 24
_TOKEN_LENGTH = 32  # base64url of 24 bytes


def _secret(request: Request) -> bytes:
    settings: Settings = request.app.state.settings
    return settings.secret_key.get_secret_value().encode()


def signature(request: Request, principal: StaffPrincipal, purpose: str, *parts: bytes) -> str:
    """An HMAC over what a preview showed, bound to this session and to the purpose, so the
    confirmation imports exactly that, in this session, for this import only."""
    message = b"\0".join((purpose.encode(), principal.csrf_token.encode(), *parts))
    return hmac.new(_secret(request), message, hashlib.sha256).hexdigest()


def signed(
    request: Request, principal: StaffPrincipal, given: str, purpose: str, *parts: bytes
) -> bool:
    """Whether `given` is this session's signature over exactly these parts."""
    return hmac.compare_digest(signature(request, principal, purpose, *parts), given)


# --- previewed files kept on the server ---------------------------------------------------------


def kept_directory() -> Path:
    """The private directory of kept previews (made on first use, readable by this user only)."""
    directory = Path(tempfile.gettempdir()) / f"survey_api-console-imports-{os.getuid()}"
    directory.mkdir(mode=0o700, exist_ok=True)
    return directory


def keep(stream: BinaryIO) -> str:
    """Copy a previewed upload to the kept directory; its random token names it. Files nobody
    confirmed within the hour are swept away first."""
    sweep()
    token = secrets.token_urlsafe(_TOKEN_BYTES)
    stream.seek(0)
    path = kept_directory() / token
    with path.open("xb") as out:
        shutil.copyfileobj(stream, out, 1 << 20)
    stream.seek(0)
    return token


def kept_path(token: str) -> Path | None:
    """The kept file of a token, or None when the token is not one of ours or its file is gone
    (imported already, or swept)."""
    if len(token) != _TOKEN_LENGTH or not all(c.isalnum() or c in "-_" for c in token):
        return None
    path = kept_directory() / token
    return path if path.is_file() else None


def discard(token: str) -> None:
    """Delete a kept file (after its import); a missing one is fine."""
    path = kept_path(token)
    if path is not None:
        path.unlink(missing_ok=True)


def sweep(now: float | None = None) -> None:
    """Delete kept files older than KEPT_SECONDS."""
    limit = (time.time() if now is None else now) - KEPT_SECONDS
    for path in kept_directory().iterdir():
        try:
            if path.stat().st_mtime < limit:
                path.unlink(missing_ok=True)
        except FileNotFoundError:
            continue  # another process swept it first
