"""The strict pull's messages after the manifest answered, worded in diagnose/clients/skopeo.py.

pullers/v2_only.py builds none of its client-facing text itself; this table pins each message
to the containers/image text cited next to its function.
"""

from __future__ import annotations

import pytest

from diagnose.clients import skopeo

DIGEST = "sha256:" + "a" * 64
OTHER = "sha256:" + "b" * 64


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (skopeo.COPY_DONE, "Writing manifest to image destination"),
        (skopeo.index_kind(True), "manifest list"),
        (skopeo.index_kind(False), "image index"),
        (
            skopeo.manifest_digest_mismatch(DIGEST),
            f"Manifest does not match provided manifest digest {DIGEST}",
        ),
        (
            skopeo.config_digest_mismatch(OTHER, DIGEST),
            f"Download config.json digest {OTHER} does not match expected {DIGEST}",
        ),
        (
            skopeo.layer_digest_mismatch(DIGEST, OTHER),
            f"reading blob {DIGEST}: Digest did not match, expected {DIGEST}, got {OTHER}",
        ),
        (
            skopeo.blob_error(
                DIGEST, skopeo.blob_status_error(401, "401 Unauthorized", "authentication required")
            ),
            f"reading blob {DIGEST}: fetching blob: authentication required",
        ),
        (skopeo.blob_status_error(429, "429 Too Many Requests", ""), "too many requests to registry"),
        (
            skopeo.blob_status_error(404, "404 Not Found", ""),
            "fetching blob: received unexpected HTTP status: 404 Not Found",
        ),
        (skopeo.unsupported_manifest_type(""), "unsupported manifest type unknown"),
        (
            skopeo.manifest_error("latest", "host/x", skopeo.INVALID_MANIFEST),
            "reading manifest latest in host/x: invalid manifest body",
        ),
    ],
)
def test_strict_pull_wording(message: str, expected: str) -> None:
    assert message == expected


def test_the_strict_puller_words_nothing_itself() -> None:
    """No message literal left in the puller: every one comes from clients/skopeo.py."""
    from pathlib import Path

    source = (Path(__file__).resolve().parent.parent / "diagnose" / "pullers" / "v2_only.py").read_text()
    for literal in (
        "Writing manifest",
        "does not match",
        "Digest did not match",
        "fetching blob",
        "too many requests",
        "unsupported manifest type",
        "invalid manifest body",
        '"image index"',
    ):
        assert literal not in source, literal
