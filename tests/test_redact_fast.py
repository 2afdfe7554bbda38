"""The scrubber's fast path must find a secret exactly where the full pattern finds it.

``redact._Matcher`` uses a small literal pattern on text that holds no escape a spelling
could use, and the full every-spelling pattern otherwise. These tests compare the two on
texts built to sit on that border: the secret in each of its echoed spellings, cut, mixed
with escapes of other characters, percent-encoded bytes near it, entities, spaces and pluses.
"""

from __future__ import annotations

import html
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from diagnose.redact import REDACTED, _core, _matcher_for, _secret_regex, scrub_text
from tests.helpers_http import echo_forms

SECRETS = (
    "hunter2-pass",
    "correct horse battery",
    "pa ss&w<o>rd\"'",
    "p%41ss\\word+",
    "naïve-Pässwört",
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLWJ5dGVzLWhlcmU",
    "opaque/Token+With=Base64Chars0123456789abcdefghijklmnopqrstuvwxyz",
)

noise = st.lists(
    st.sampled_from(
        [*string.ascii_letters, *string.digits, *" %&#;\\+/=-_.:?\"'<>u", "é", "%3A", "%25", "&amp;"]
    ),
    max_size=30,
).map("".join)


def html_forms(secret: str) -> tuple[str, ...]:
    """HTML error pages echo text as character references, named or numeric."""
    return (
        html.escape(secret),
        "".join(f"&#{ord(char)};" if index % 2 else char for index, char in enumerate(secret)),
        "".join(f"&#x{ord(char):X};" for char in secret),
    )


@st.composite
def texts_around(draw: st.DrawFn, secret: str) -> str:
    forms = (*echo_forms(secret), *html_forms(secret))
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        parts.append(draw(noise))
        form = draw(st.sampled_from(forms))
        if draw(st.booleans()):  # a cut spelling must be treated alike too
            cut = draw(st.integers(0, len(form)))
            form = form[:cut]
        parts.append(form)
    parts.append(draw(noise))
    return "".join(parts)


@pytest.mark.parametrize("secret", SECRETS, ids=range(len(SECRETS)))
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_fast_path_agrees_with_the_full_pattern(secret: str, data: st.DataObject) -> None:
    text = data.draw(texts_around(secret))
    fast = _matcher_for(*_core(secret)).sub(REDACTED, text)
    assert fast == _secret_regex(secret).sub(REDACTED, text)


@pytest.mark.parametrize("secret", SECRETS, ids=range(len(SECRETS)))
@pytest.mark.parametrize("form", range(len(echo_forms(SECRETS[0]))))
def test_every_spelling_is_removed(secret: str, form: int) -> None:
    forms = echo_forms(secret)
    spelled = forms[form % len(forms)]
    assert secret not in scrub_text(f"error: {spelled} denied", [secret])
    assert spelled not in scrub_text(f"error: {spelled} denied", [secret])


def test_plain_text_never_builds_the_full_pattern() -> None:
    """The reason for the fast path: a run's URLs, headers and JSON hold ``%3A`` and ``&``
    but no escape of a token's characters, and compiling the full pattern costs ~0.1 s."""
    token = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJib2IifQ.bm90LWEtcmVhbC1zaWduYXR1cmU"
    matcher = _matcher_for(*_core(token))
    texts = (
        "https://auth.example/token?scope=repository%3Alibrary%2Falpine%3Apull&service=registry",
        '{"token":"' + token + '","expires_in":300,"issued_at":"2026-12-03T15:00:00+00:00"}',
        "Bearer " + token,
    )
    for text in texts:
        assert token not in scrub_text(text, [token])
    assert matcher.full is None
    escaped = token.replace("J", "\\u004a")
    assert "bGciOi" not in scrub_text(escaped, [token])
    assert matcher.full is not None


def test_tokens_of_one_server_share_one_matcher() -> None:
    header = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCIsImtpZCI6IkFCQ0QifQ"
    first, second = header + ".eyJzdWIiOiJhIn0.c2lnMQ", header + ".eyJzdWIiOiJiIn0.c2lnMg"
    assert _matcher_for(*_core(first)) is _matcher_for(*_core(second))
    assert REDACTED in scrub_text(second, [first]) or "<redacted jwt>" in scrub_text(second, [first])
