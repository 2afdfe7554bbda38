"""Hostile registries: credentials echoed back in every spelling, never in any output.

The registry under test (``tests/helpers_http.py`` ``EchoingRegistry``) quotes the Basic
credentials it receives and the bearer token it issued, raw and in every encoding a server may
use, in error bodies, headers, ``WWW-Authenticate`` ``error_description`` and redirect URLs. Every
output diagnose writes (terminal, ``--json``, ``--save``, ``--markdown``, ``--har``, a cassette, and
``replay`` of the saved report in each format) is searched for every spelling.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from diagnose import cli
from diagnose.render.cassette import render_cassette
from diagnose.render.json_report import report_from_dict
from tests.helpers_http import EchoingRegistry, echo_forms, serve

USER = "alice"
PASSWORD = 'Pa55/w:rd "é+&<\\x~Q'


def run_cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        cli.main(args)
    captured = capsys.readouterr()
    code = exited.value.code
    return (code if isinstance(code, int) else 0), captured.out + captured.err


def secret_spellings(*secrets: str) -> set[str]:
    return {form for secret in secrets for form in echo_forms(secret) if len(form) >= 6}


def leaks(text: str, spellings: set[str]) -> list[str]:
    """Spellings found in ``text``, also across a line wrap (whitespace removed on both sides)."""
    flat = re.sub(r"\s+", "", text)
    return sorted(s for s in spellings if s in text or re.sub(r"\s+", "", s) in flat)


def all_outputs(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, host: str, user: str, password: str
) -> str:
    """Everything ``compare`` and ``replay`` write, in every format, as one text."""
    saved, md, har = tmp_path / "r.json", tmp_path / "t.md", tmp_path / "t.har"
    base = [
        "compare",
        f"{host}/library/x",
        "--no-tls-verify",
        "--timeout",
        "5",
        "--creds",
        f"{user}:{password}",
    ]
    code, terminal = run_cli(capsys, [*base, "--save", str(saved), "--markdown", str(md), "--har", str(har)])
    assert code == 1, terminal[-2000:]
    _, as_json = run_cli(capsys, [*base, "--json"])
    report = report_from_dict(json.loads(saved.read_text(encoding="utf-8")))
    texts = [
        terminal,
        as_json,
        saved.read_text(),
        md.read_text(),
        har.read_text(),
        render_cassette(report.exchanges),
    ]
    replay_md, replay_har = tmp_path / "replay.md", tmp_path / "replay.har"
    _, replayed = run_cli(
        capsys, ["replay", str(saved), "--markdown", str(replay_md), "--har", str(replay_har)]
    )
    _, replayed_json = run_cli(capsys, ["replay", str(saved), "--json"])
    texts += [replayed, replayed_json, replay_md.read_text(), replay_har.read_text()]
    return "\n".join(texts)


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "4000")


def test_echoed_credentials_leave_no_trace_in_any_output(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with serve(EchoingRegistry) as server:
        text = all_outputs(capsys, tmp_path, f"127.0.0.1:{server.port}", USER, PASSWORD)
        seen = server.requests
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    # The registry really did echo: its answers carry every spelling (the test can fail).
    assert any(PASSWORD in r.path or "token" in r.path for r in seen)
    spellings = secret_spellings(PASSWORD, f"{USER}:{PASSWORD}", basic, EchoingRegistry.TOKEN)
    assert leaks(text, spellings) == []
    # ... and the evidence is still there: the user name, the codes, the redirect.
    assert 'user \\"alice\\"' in text or 'user "alice"' in text
    assert "UNAUTHORIZED" in text and "invalid_token" in text and "/echo/" in text


def test_a_user_name_equal_to_the_password_is_a_secret(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    token = "apiTOKEN-4f9c2d7e1a"
    with serve(EchoingRegistry) as server:
        text = all_outputs(capsys, tmp_path, f"127.0.0.1:{server.port}", token, token)
    assert leaks(text, secret_spellings(token, f"{token}:{token}")) == []


def test_replay_scrubs_the_secrets_a_recording_still_shows(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A hand-edited report (or another tool's capture) with a raw Authorization value and
    the password in a body: replay recognises both, and never decodes the password into view."""
    with serve(EchoingRegistry) as server:
        saved = tmp_path / "r.json"
        run_cli(
            capsys,
            [
                "compare",
                f"127.0.0.1:{server.port}/library/x",
                "--no-tls-verify",
                "--timeout",
                "5",
                "--creds",
                f"{USER}:{PASSWORD}",
                "--save",
                str(saved),
            ],
        )
    data = json.loads(saved.read_text())
    basic = base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
    for exchange in data["exchanges"]:
        if exchange["request"]["headers"].get("Authorization", "").startswith("Basic"):
            exchange["request"]["headers"]["Authorization"] = f"Basic {basic}"
            if exchange["response"] is not None:
                exchange["response"]["body"] += f" echo {PASSWORD} {basic}"
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(data))
    _, replayed = run_cli(capsys, ["replay", str(tampered), "--json"])
    _, terminal = run_cli(capsys, ["replay", str(tampered)])
    text = replayed + terminal
    assert leaks(text, secret_spellings(PASSWORD, basic, f"{USER}:{PASSWORD}")) == []
    assert "Basic <redacted" in text


# ----------------------------------------------------------------------------- Markdown and terminal

ALLOWED_TAGS = {
    "p", "h1", "h2", "h3", "h4", "strong", "em", "code", "pre", "ul", "ol", "li", "table", "thead",
    "tbody", "tr", "th", "td", "details", "summary", "blockquote", "hr", "br",
}  # fmt: skip
"""Tags our own Markdown produces; registry text must add none (no a, img, script ...)."""

BIDI = "\u202e\u202c\u2067\u2069\u200f"


def html_of(markdown: str) -> str:
    """The Markdown as GitHub renders it (cmark-gfm with autolinks and tables), raw HTML kept."""
    import cmarkgfm
    from cmarkgfm.cmark import Options

    return cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)


def tags_of(html: str) -> set[str]:
    return {m.lower() for m in re.findall(r"<([A-Za-z][A-Za-z0-9]*)", html)}


@pytest.mark.parametrize(
    "text",
    [
        "``[click](https://evil.example/x)`",
        "`a` [b](https://evil.example) ``c``` d",
        "see https://evil.example/x and www.evil.example and a@evil.example",
        "<img src=x onerror=alert(1)> <https://evil.example> &lt;script&gt;",
        "![i](https://evil.example/i.png) [r]: https://evil.example",
        "`` ` `` [x](y) ` unmatched",
    ],
)
def test_md_sentence_never_makes_a_link_an_image_or_html(text: str) -> None:
    from diagnose.render.safe_text import md_code, md_sentence, md_text

    for render in (md_sentence, md_text, md_code):
        assert tags_of(html_of(render(text))) <= {"p", "code"}, (render.__name__, render(text))


def test_md_sentence_keeps_our_code_spans() -> None:
    from diagnose.render.safe_text import md_sentence

    assert md_sentence("run `docker login` first") == "run `docker login` first"
    assert "<code>docker login</code>" in html_of(md_sentence("run `docker login` first <now>"))


def test_markdown_report_of_a_hostile_registry_has_no_live_markup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from tests.helpers_http import MarkdownInjection

    ticket = tmp_path / "t.md"
    user = "[me](https://evil.example/u)<img src=x>@evil.example\u202e"
    with serve(MarkdownInjection) as server:
        code, terminal = run_cli(
            capsys,
            # a generous deadline: this test is about markup, and a loaded machine is slow
            ["compare", f"127.0.0.1:{server.port}/library/x", "--no-tls-verify", "--timeout", "30",
             "--creds", f"{user}:pw-123456", "--markdown", str(ticket)],
        )  # fmt: skip
    assert code == 1
    markdown = ticket.read_text()
    assert "evil.example/x" in markdown  # the payload is quoted ...
    html = html_of(markdown)
    assert tags_of(html) <= ALLOWED_TAGS, tags_of(html) - ALLOWED_TAGS  # ... and never live
    assert 'href="' not in html and "src=" not in html.replace("src=x", "")
    for text in (markdown, terminal):
        assert not any(char in text for char in BIDI + "\x1b")
        assert "\\u202e" in text  # shown, not obeyed


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("- item", "- item"),
        ("1. first", "1. first"),
        ("= underline", "= underline"),
        ("# heading", "# heading"),
        ("> quote", "&gt; quote"),
        ("a@evil.example", "a@evil.example"),
        ("Not logged in: 401", "Not logged in: 401"),
    ],
)
def test_md_text_shows_text_literally(text: str, shown: str) -> None:
    from diagnose.render.safe_text import md_text

    html = html_of(md_text(text)).replace("<!-- -->", "")
    assert html.strip() == f"<p>{shown}</p>"


# ----------------------------------------------------------------------------- bounded output


def long_strings(value: object, path: str = "") -> list[tuple[int, str]]:
    """Strings longer than the quote limit outside the exchanges, with where they are."""
    from diagnose.bounds import QUOTE_LIMIT

    if isinstance(value, dict):
        return [hit for k, v in value.items() if k != "exchanges" for hit in long_strings(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [hit for i, v in enumerate(value) for hit in long_strings(v, f"{path}[{i}]")]
    if isinstance(value, str) and len(value) > QUOTE_LIMIT + 100:
        return [(len(value), path)]
    return []


def test_an_inflating_answer_stays_a_small_report(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """8 KB of gzip that inflates to 8 MB, quoted by docker 1.12 and repeated by every note,
    prediction and the diagnosis, once made 25-64 MB of JSON and a terminal run of minutes."""
    import time

    from tests.helpers_http import InflatingAnswers

    monkeypatch.setenv("COLUMNS", "80")
    with serve(InflatingAnswers) as server:
        args = ["compare", f"127.0.0.1:{server.port}/library/x", "--no-tls-verify", "--timeout", "10"]
        started = time.monotonic()
        code, as_json = run_cli(capsys, [*args, "--json"])
        json_seconds = time.monotonic() - started
        started = time.monotonic()
        _, terminal = run_cli(capsys, args)
        terminal_seconds = time.monotonic() - started
    assert code == 1
    report = json.loads(as_json[: as_json.rindex("}") + 1])
    assert len(as_json) < 2 * 1024 * 1024, len(as_json)
    assert long_strings(report) == []
    assert any("more bytes" in p["message"] or "more characters" in p["message"] for p in report["pulls"])
    assert len(terminal) < 200 * 1024
    assert json_seconds < 30 and terminal_seconds < 30, (json_seconds, terminal_seconds)


def test_thousands_of_big_answers_do_not_make_a_huge_recording() -> None:
    from diagnose.model import Strategy
    from diagnose.transport import (
        RECORDED_BODY_FLOOR,
        RECORDED_BODY_LIMIT,
        RECORDED_TOTAL_LIMIT,
        Recorder,
        RecordingClient,
        TransportOptions,
    )
    from tests.helpers_http import BigAnswers

    recorder = Recorder()
    with (
        serve(BigAnswers) as server,
        RecordingClient(recorder, Strategy.V2_ONLY, TransportOptions(timeout=5)) as c,
    ):
        for n in range(120):
            c.send(f"get {n}", "GET", server.url(f"/v1/images/{n}/json"))
    exchanges = recorder.exchanges()
    recorded = sum(len(e.response.body) for e in exchanges if e.response is not None)
    assert len(exchanges) == 120
    assert recorded <= RECORDED_TOTAL_LIMIT + RECORDED_BODY_LIMIT + 120 * RECORDED_BODY_FLOOR
    assert exchanges[0].response is not None and len(exchanges[0].response.body) == RECORDED_BODY_LIMIT
    last = exchanges[-1].response
    assert last is not None and last.body_truncated and len(last.body) == RECORDED_BODY_FLOOR


# ----------------------------------------------------------------------------- credentials stay home


@pytest.mark.parametrize(("standalone", "sent"), [(True, "Basic"), (False, "Token")])
def test_credentials_never_go_to_another_host_named_in_x_docker_endpoints(
    capsys: pytest.CaptureFixture[str], standalone: bool, sent: str
) -> None:
    """docker 1.12 sends them there (registry/session.go authTransport); diagnose records that
    it would, and sends them only to the registry named."""
    from tests.helpers_http import AnswersEverything500, V1IndexNamingAnotherHost

    class Index(V1IndexNamingAnotherHost):
        pass

    Index.standalone = standalone
    with serve(AnswersEverything500, tls=True) as other, serve(Index, tls=True) as index:
        Index.other = f"127.0.0.1:{other.port}"
        with pytest.raises(SystemExit):
            cli.main(
                ["compare", f"127.0.0.1:{index.port}/library/x", "--no-tls-verify", "--timeout", "5",
                 "--creds", f"{USER}:{PASSWORD}", "--json"]
            )  # fmt: skip
        report = json.loads(capsys.readouterr().out)
        at_other, at_index = other.requests, index.requests
    assert [r.path for r in at_other] == ["/v1/repositories/library/x/tags/latest"]  # it was asked ...
    assert all(not r.values("Authorization") for r in at_other)  # ... without credentials
    tag_lookups = [r for r in at_index if "/tags/" in r.path]
    assert tag_lookups and all(r.values("Authorization")[0].startswith(sent) for r in tag_lookups)
    docker = next(p for p in report["pulls"] if p["strategy"] == "v2-then-v1")
    finding = [n for n in docker["notes"] if "would send" in n]
    assert finding and f"127.0.0.1:{other.port}" in finding[0] and f"Authorization: {sent}" in finding[0]
    assert docker["outcome"] == "not_found"


# ----------------------------------------------------------------------------- odd data, no exit 3

ODD_CLAIMS = {
    "access-is-a-string": {"sub": "alice", "access": "repository:library/x:pull"},
    "access-entries-of-every-type": {
        "sub": ["alice"],
        "exp": "tomorrow",
        "access": [None, 5, "x", [], {"type": 1, "name": ["x"], "actions": {"pull": True}}],
    },
    "actions-of-every-type": {
        "sub": "",
        "aud": ["a", {"b": 1}],
        "access": [{"type": "repository", "name": "library/x", "actions": [None, 1, ["pull"], {"a": 1}]}],
    },
    "access-nested-900-deep": {"sub": "alice", "access": json.loads("[" * 900 + "]" * 900)},
    "claims-not-an-object": ["alice"],
}


@pytest.mark.parametrize(
    ("token", "deep"),
    [*((f"jwt:{name}", False) for name in ODD_CLAIMS), ("opaque", True)],
    ids=[*ODD_CLAIMS, "deeply-nested-bodies"],
)
def test_odd_tokens_and_deep_bodies_are_outcomes_with_every_exchange_kept(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, token: str, deep: bool
) -> None:
    from tests.helpers_http import OddTokens, jwt_with

    class Registry(OddTokens):
        pass

    Registry.token = jwt_with(ODD_CLAIMS[token[4:]]) if token.startswith("jwt:") else "opaque-token-1234"
    Registry.deep = deep
    saved = tmp_path / "r.json"
    with serve(Registry) as server:
        code, text = run_cli(
            capsys,
            ["compare", f"127.0.0.1:{server.port}/library/x", "--no-tls-verify", "--timeout", "5",
             "--save", str(saved), "--markdown", str(tmp_path / "t.md"),
             "--har", str(tmp_path / "t.har")],
        )  # fmt: skip
        seen = len(server.requests)
    assert code == 1, text[-1000:]
    report = json.loads(saved.read_text())
    # Anonymous (a login would add the contrast pull, whose exchanges are dropped by design).
    # (a 501 is http.server's own answer to a HEAD the test registry has no handler for: unseen)
    answered = [
        e for e in report["exchanges"] if e["response"] is not None and e["response"]["status"] != 501
    ]
    assert len(answered) == seen  # every request the server answered is in the report
    assert [e["id"] for e in report["exchanges"]] == list(range(1, len(report["exchanges"]) + 1))
    assert all(p["outcome"] != "internal_error" for p in report["pulls"])
    replay_code, replayed = run_cli(capsys, ["replay", str(saved), "--json"])
    assert replay_code == 1, replayed[-1000:]


def test_a_non_utf8_auth_file_is_an_input_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    auth = tmp_path / "auth.json"
    auth.write_bytes(b'{"auths": {"127.0.0.1:1": {"auth": "YWxpY2U6cHc="}}, "note": "caf\xe9"}')
    code, text = run_cli(capsys, ["compare", "127.0.0.1:1/library/x", "--auth-file", str(auth)])
    assert code == 2
    assert str(auth) in text and "Traceback" not in text


def test_layers_stop_at_the_size_the_manifest_declared(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """A layer declared as 1000 bytes whose answer never ends: --layers reads a chunk past the
    declared size, not until the deadline (it used to stream until --timeout)."""
    import time

    from tests.helpers_http import EndlessLayer

    with serve(EndlessLayer) as server:
        started = time.monotonic()
        code, text = run_cli(
            capsys,
            ["compare", f"127.0.0.1:{server.port}/library/x", "--no-tls-verify", "--timeout", "20",
             "--layers", "--json", "--save", str(tmp_path / "r.json")],
        )  # fmt: skip
        elapsed = time.monotonic() - started
    assert code == 1
    report = json.loads(text[: text.rindex("}") + 1])
    assert elapsed < 15, elapsed
    layer_gets = [
        e for e in report["exchanges"] if e["step"] == "layer 1/1" and e["request"]["method"] == "GET"
    ]
    assert layer_gets and all(e["response"]["body_size"] <= 1000 + 64 * 1024 for e in layer_gets)
    for pull in report["pulls"]:
        if pull["strategy"] in ("v2-only", "v2-then-v1"):
            assert pull["outcome"] == "integrity_error", pull
            assert any("1000 bytes the manifest declared" in note for note in pull["notes"])
    _code, replayed = run_cli(capsys, ["replay", str(tmp_path / "r.json"), "--json"])
    again = json.loads(replayed[: replayed.rindex("}") + 1])
    assert outcomes_of(again) == outcomes_of(report)  # the replay keeps the verdict, invents none


def outcomes_of(report: dict[str, object]) -> dict[str, str]:
    return {p["strategy"]: p["outcome"] for p in report["pulls"]}  # type: ignore[attr-defined, index]
