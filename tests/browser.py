"""Headless Chromium (Debian's ``chromium``) for the HTML report test: load a local file, return
its DOM, the requests the page made (from Chromium's own net log) and a screenshot.

Chromium is told to reach nothing: every host name resolves to nothing and every proxied
request goes to a closed port on 127.0.0.1, so neither the page nor the browser's own
background services can leave the machine. Missing ``chromium`` skips, unless
``DIAGNOSE_REQUIRE_REAL=1`` (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
)


@dataclass(frozen=True)
class PageLoad:
    dom: str
    page_requests: tuple[str, ...]  # non-file URLs the page itself asked for
    screenshot: Path


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("DIAGNOSE_REQUIRE_REAL") == "1":
            pytest.fail("DIAGNOSE_REQUIRE_REAL=1 but chromium is not installed", pytrace=False)
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return path


def _page_requests(netlog: Path) -> tuple[str, ...]:
    """URLs of requests started on behalf of the file:// page (not Chromium's own services)."""
    data = json.loads(netlog.read_text(encoding="utf-8", errors="replace") or "{}")
    names = {number: name for name, number in data.get("constants", {}).get("logEventTypes", {}).items()}
    urls: list[str] = []
    for event in data.get("events", []):
        params = event.get("params") or {}
        if names.get(event.get("type")) != "URL_REQUEST_START_JOB":
            continue
        url = str(params.get("url", ""))
        if "file://" in str(params.get("network_isolation_key", "")) and not url.startswith(
            ("file:", "data:")
        ):
            urls.append(url)
    return tuple(urls)


def load(page: Path, screenshot: Path, *, width: int = 1280, height: int = 2000) -> PageLoad:
    """Open ``page`` in a fresh profile; return the DOM, the page's requests and a screenshot."""
    binary = chromium()
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="diagnose-chromium-") as profile:
        netlog = Path(profile) / "netlog.json"
        done = subprocess.run(
            [
                binary,
                *FLAGS,
                f"--user-data-dir={profile}/data",
                f"--log-net-log={netlog}",
                f"--window-size={width},{height}",
                f"--screenshot={screenshot}",
                "--dump-dom",
                page.resolve().as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return PageLoad(dom=done.stdout, page_requests=_page_requests(netlog), screenshot=screenshot)
