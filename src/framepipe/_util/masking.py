"""Credentials never appear in a message: URL passwords and token-like query values are masked.

>>> mask_credentials("cannot open rtsp://bob:hunter2@cam.local:554/live?token=abc&x=1")
'cannot open rtsp://bob:***@cam.local:554/live?token=***&x=1'
"""

from __future__ import annotations

import re

__all__ = ["mask_credentials"]

# user:password@ (or a bare token@) right after the scheme; the password is what we hide
_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*)(?::[^@/\s]*)?@")
# query values that are secrets: passwords, tokens, keys, and the signatures of pre-signed S3/GCS/Azure URLs
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:password|passwd|pwd|token|key|auth|secret|sig|signature|"
    r"x-amz-signature|x-amz-credential|x-amz-security-token|x-goog-signature|"
    r"x-goog-credential)=)[^&\s]*"
)


def mask_credentials(text: str) -> str:
    """``text`` with every URL password (and token-like query values) replaced by ``***``.

    >>> mask_credentials("cannot open rtsp://bob:hunter2@cam.local:554/live?token=abc&x=1")
    'cannot open rtsp://bob:***@cam.local:554/live?token=***&x=1'
    """

    def hide(m: re.Match) -> str:
        has_password = ":" in m.group(0)[len(m.group("scheme")) :]
        return f"{m.group('scheme')}{m.group('user')}{':***' if has_password else ''}@"

    return _SECRET_QUERY.sub(r"\1***", _CREDENTIALS.sub(hide, text))
