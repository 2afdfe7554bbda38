"""The lab's fake object store: S3-presigned-looking URLs that blob redirects point at.

Real registries (distribution's S3 driver, Docker Hub's CDN) redirect blob GETs to signed
storage URLs that expire; the lab does the same on its own port so clients, redirects and
redaction of signatures meet a real hop. Pure request -> response; no sockets.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import quote

from diagnose.lab.content import (
    LabContent,
)
from diagnose.lab.wire import (
    _STORAGE_ROUTE,
    STORAGE_EXPIRY,
    LabRequest,
    LabResponse,
)


@dataclass(frozen=True, slots=True)
class BlobStorage:
    """Signs and serves blob URLs for the content of one lab."""

    content: LabContent
    base_url: str
    secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def signature(self, digest: str, method: str, date: str, expires: str) -> str:
        text = f"{method}\n{digest}\n{date}\n{expires}".encode()
        return hmac.new(self.secret, text, hashlib.sha256).hexdigest()

    def presigned_url(self, digest: str, method: str, now: float | None = None) -> str:
        """An S3-presigned-looking URL on this server, signed for ``method`` like S3 does."""
        date = datetime.fromtimestamp(time.time() if now is None else now, UTC).strftime("%Y%m%dT%H%M%SZ")
        expires = str(STORAGE_EXPIRY)
        credential = quote(f"LABACCESSKEY/{date[:8]}/lab-region-1/s3/aws4_request", safe="")
        signature = self.signature(digest, method, date, expires)
        return (
            f"{self.base_url}/_storage/{digest}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={credential}"
            f"&X-Amz-Date={date}&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host&X-Amz-Signature={signature}"
        )

    def handle(self, request: LabRequest, path: str) -> LabResponse:
        match = _STORAGE_ROUTE.match(path)
        if not match or request.method not in ("GET", "HEAD"):
            return _s3_error(404 if not match else 405, "NoSuchKey", "The specified key does not exist.")
        digest = match["digest"]
        query = request.query
        date = (query.get("X-Amz-Date") or [""])[0]
        expires = (query.get("X-Amz-Expires") or [""])[0]
        signature = (query.get("X-Amz-Signature") or [""])[0]
        expected = self.signature(digest, request.method, date, expires)
        if not signature or not hmac.compare_digest(expected, signature):
            return _s3_error(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your key and signing method.",
            )
        try:
            issued = datetime.strptime(date, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
            valid_until = issued + int(expires)
        except ValueError:
            return _s3_error(
                400, "AuthorizationQueryParametersError", "X-Amz-Date must be in the ISO8601 format"
            )
        if time.time() > valid_until:
            return _s3_error(403, "AccessDenied", "Request has expired")
        data = next((r.blobs[digest] for r in self.content.repositories.values() if digest in r.blobs), None)
        if data is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        return LabResponse(
            200, (("Content-Type", "application/octet-stream"), ("ETag", f'"{digest[7:39]}"')), data
        )


def _s3_error(status: int, code: str, message: str) -> LabResponse:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>{secrets.token_hex(8).upper()}</RequestId></Error>"
    ).encode()
    return LabResponse(status, (("Content-Type", "application/xml"),), body)
