"""Verified layers written to a directory (``compare --layers --output DIR``), as skopeo's ``dir:``.

Only the strict (v2-only) pull writes, and only what it verifies: each layer streams to
``DIR/<hex digest>.partial`` while its digest is computed, and is renamed to ``DIR/<hex digest>``
when the digest matches (removed when it does not). The file name comes from the manifest, so a
digest that is not a well-formed ``sha256:`` is never used as a name: nothing is written
outside DIR. A write error stops the writing, never the pull. This module must not send or decide.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

_SHA256 = re.compile(r"sha256:([0-9a-f]{64})")


class LayerFile:
    """One layer being written; ``error`` says why it was not (None when all went well)."""

    def __init__(self, directory: str, digest: str) -> None:
        self.error: str | None = None
        self.path: Path | None = None
        self._partial: Path | None = None
        self._fd: int | None = None
        match = _SHA256.fullmatch(digest)
        if match is None:
            self.error = f"not written: {digest!r} is not a sha256 digest"
            return
        self.path = Path(directory) / match.group(1)
        self._partial = self.path.with_name(self.path.name + ".partial")
        try:
            flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_NOFOLLOW", 0)
            self._fd = os.open(self._partial, flags, 0o600)
        except OSError as exc:
            self.error = f"cannot write {self._partial}: {exc.strerror or exc}"

    def write(self, data: bytes) -> None:
        if self._fd is None:
            return
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self.error = f"cannot write {self._partial}: {exc.strerror or exc}"
            self._close()
            self._discard()

    def finish(self, verified: bool) -> Path | None:
        """Keep the file when the digest matched; return where it is (None: not kept)."""
        self._close()
        if not verified or self.error is not None or self._partial is None or self.path is None:
            self._discard()
            return None
        try:
            os.replace(self._partial, self.path)
        except OSError as exc:
            self.error = f"cannot write {self.path}: {exc.strerror or exc}"
            self._discard()
            return None
        return self.path

    def _close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _discard(self) -> None:
        if self._partial is not None:
            with contextlib.suppress(OSError):
                self._partial.unlink()
