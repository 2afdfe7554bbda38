"""What every client model is: an id, a name, the pull it reads, its source, and ``predict``.

A model is a pure function from the recorded pull its client family would make (a
``PullResult`` with its exchanges) to ``(message, exit_code)``: the exact text the client prints,
with its own wrapping, and its exit status. This module must not do I/O and must not word any
client's message itself; it only gives the models uniform access to the evidence.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from diagnose.model import Exchange, ImageReference, PullResult, RecordedResponse, Strategy


@dataclass(frozen=True, slots=True)
class PullFacts:
    """The input of a model: the pull, the reference as the user typed it, the platform asked for."""

    ref: ImageReference
    pull: PullResult
    platform: str = "linux/amd64"

    @property
    def step(self) -> str:
        """The step that failed ("ping", "token", "manifest", "config", "layer 1/2", ...) or ""."""
        return self.pull.error.step if self.pull.error is not None else ""

    @property
    def failing(self) -> Exchange | None:
        """The exchange whose answer (or failure) ended the pull, if the pull names one."""
        if self.pull.error is None or self.pull.error.exchange_id is None:
            return None
        return self.exchange(self.pull.error.exchange_id)

    def exchange(self, exchange_id: int) -> Exchange | None:
        return next((e for e in self.pull.exchanges if e.id == exchange_id), None)

    def last(self, step: str) -> Exchange | None:
        """The last exchange of a step label (e.g. the ping the pull ended on)."""
        found = [e for e in self.pull.exchanges if e.step == step]
        return found[-1] if found else None

    @property
    def elapsed_seconds(self) -> int:
        """Whole seconds the pull's requests took (logrus ``FATA[0002]`` counts from start)."""
        return int(sum(e.elapsed_ms for e in self.pull.exchanges) // 1000)


def body_bytes(response: RecordedResponse) -> bytes:
    """The recorded body as bytes (binary bodies were stored base64-encoded)."""
    if response.body_encoding == "base64":
        try:
            return base64.b64decode(response.body)
        except (binascii.Error, ValueError):
            return b""
    return response.body.encode("utf-8", errors="surrogateescape")


def host_of_url(url: str) -> str:
    """``host[:port]`` of a recorded URL ("" when unreadable)."""
    try:
        return urlsplit(url).netloc.rpartition("@")[2]
    except ValueError:
        return ""


def last_path_part(url: str) -> str:
    """``latest`` for ``…/manifests/latest``: the tag or digest a manifest request named."""
    try:
        return urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1]
    except ValueError:
        return ""


Prediction = tuple[str, int]
"""(message, exit_code): ("", 0) when the client would succeed."""


@dataclass(frozen=True, slots=True)
class ClientModel:
    """One modelled client: ``predict`` reads the pull of ``strategy``."""

    id: str
    name: str
    strategy: Strategy
    source: str  # repository, file, version: where the wording was read
    predict: Callable[[PullFacts], Prediction]
