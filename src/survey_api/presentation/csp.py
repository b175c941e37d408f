"""Content-Security-Policy for pages that carry their own stylesheet inline.

The results page and the invitation letters are saved and printed as single files, so their
style is inline and allowed by its hash; they have no script at all. The hash is computed over
exactly the text the template writes between <style> and </style>, so that text must be
written unescaped (a Markup): an autoescaped '"' becomes '&#34;', the hash no longer matches
and the browser drops the whole stylesheet.
"""

import base64
import hashlib


def sha256_source(text: str) -> str:
    """The CSP source expression allowing exactly this inline text: 'sha256-…'."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def inline_style_policy(style: str) -> str:
    """No script, no framing, nothing fetched or posted; only this inline stylesheet."""
    return (
        f"default-src 'none'; style-src {sha256_source(style)}; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )
