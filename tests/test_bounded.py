"""``run.bounded``: one walk that scrubs every string, and cuts every string but the
evidence. A quoted answer is cut at ``QUOTE_LIMIT``; the exchange that holds the answer keeps
it whole (the transport capped it when it was recorded), secrets removed everywhere."""

from __future__ import annotations

from diagnose.bounds import QUOTE_LIMIT
from diagnose.model import Exchange, RecordedRequest, RecordedResponse, Strategy
from diagnose.redact import REDACTED, scrub_text
from diagnose.run import bounded

SECRET = "s3cr3t-token-value"


def test_quotes_are_cut_and_scrubbed_the_evidence_is_only_scrubbed() -> None:
    answer = "x" * (QUOTE_LIMIT * 3) + SECRET
    exchange = Exchange(
        id=1,
        strategy=Strategy.V2_ONLY,
        step="manifest",
        request=RecordedRequest("GET", f"https://r.example/v2/?t={SECRET}"),
        response=RecordedResponse(200, "OK", body=answer),
        note=f"quoted: {SECRET}",
    )
    quoted = f"the registry said: {SECRET} " + answer
    value = {"message": quoted, "exchanges": (exchange,), "keys": {SECRET: "v"}}

    out = bounded(value, lambda text: scrub_text(text, [SECRET]))

    assert SECRET not in repr(out)
    assert len(out["message"]) < QUOTE_LIMIT + 100 and "more characters" in out["message"]
    assert out["message"].startswith(f"the registry said: {REDACTED}")
    kept = out["exchanges"][0]
    assert kept.response is not None and len(kept.response.body) >= QUOTE_LIMIT * 3  # not cut
    assert kept.response.body.endswith(REDACTED) and kept.note == f"quoted: {REDACTED}"
    assert list(out["keys"]) == [REDACTED]


def test_nothing_to_change_returns_the_same_objects() -> None:
    exchange = Exchange(1, Strategy.V2_ONLY, "ping", RecordedRequest("GET", "https://r.example/v2/"))
    value = (exchange, ("a", "b"))
    assert bounded(value, lambda text: text) is value
