"""``diagnose explain``: pasted lines as users paste them -> clients, meaning, reference, command."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from diagnose.cli import main
from diagnose.clients import docker112 as d12
from diagnose.clients import skopeo as sk
from diagnose.explain import CLIENT_IDS, TEMPLATES, Kind, _compiled, explain, go_unquote, variants

HUB_DENIED_20 = (
    "docker: Error response from daemon: pull access denied for thisimagedoesntexist, repository does not "
    "exist or may require 'docker login': denied: requested access to the resource is denied."
)

# (pasted text, clients that must be listed, clients that must not be, reference found)
ROWS: list[tuple[str, tuple[str, ...], tuple[str, ...], str | None]] = [
    # docker 1.12, as the original report printed it (three lines)
    (
        "Using default tag: latest\nPulling repository docker.io/library/thisimagedoesntexist\n"
        "Error: image library/thisimagedoesntexist:latest not found",
        ("docker-1.12",),
        ("docker-20.10", "containerd"),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    # RHEL docker
    (
        "Trying to pull repository docker.io/library/thisimagedoesntexist ... \n"
        "Pulling repository docker.io/library/thisimagedoesntexist\n"
        "Error: image library/thisimagedoesntexist:latest not found",
        ("docker-1.12-rhel",),
        ("docker-1.12",),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    # skopeo 2016, logrus prefix
    (
        "FATA[0002] Error initializing image from source docker://thisimagedoesntexist:latest: unauthorized: "
        "authentication required",
        ("skopeo-2016",),
        ("containers-image-current",),
        "thisimagedoesntexist:latest",
    ),
    # docker 1.13 - 17.06
    (
        "Error response from daemon: repository thisimagedoesntexist not found: does not exist or no pull "
        "access",
        ("docker-17",),
        ("docker-18", "docker-20.10"),
        "thisimagedoesntexist",
    ),
    # docker 17.07 - 18.x (no suffix) and docker 29 with the containerd store
    (
        "Error response from daemon: pull access denied for alice/app, repository does not exist or may "
        "require 'docker login'",
        ("docker-18", "docker-29-containerd"),
        ("docker-20.10",),
        "alice/app",
    ),
    # docker 19.03 - 28, with the docker: prefix of docker run
    (HUB_DENIED_20, ("docker-20.10",), ("docker-18", "containerd"), "thisimagedoesntexist"),
    # manifest for … not found, two eras
    (
        "Error response from daemon: manifest for busybox:nosuchtag not found: manifest unknown: manifest "
        "unknown",
        ("docker-20.10",),
        ("docker-17",),
        "busybox:nosuchtag",
    ),
    (
        "Error response from daemon: manifest for busybox:nosuchtag not found",
        ("docker-17", "docker-18"),
        (),
        "busybox:nosuchtag",
    ),
    # containers/image: 5.23 prints every error, 5.24+ only the first, trimmed
    (
        "Error: initializing source docker://thisimagedoesntexist:latest: reading manifest latest in "
        "docker.io/library/thisimagedoesntexist: errors:\ndenied: requested access to the resource is "
        "denied\n"
        "unauthorized: authentication required\n",
        ("containers-image-5.23",),
        ("containers-image-current",),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    (
        "Error: initializing source docker://thisimagedoesntexist:latest: reading manifest latest in "
        "docker.io/library/thisimagedoesntexist: requested access to the resource is denied",
        ("containers-image-5.24", "containers-image-current"),
        ("containers-image-5.23", "docker-20.10"),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    # skopeo's logrus line when not on a TTY: level=fatal msg="…" with Go escaping
    (
        'time="2024-05-01T10:00:00Z" level=fatal msg="initializing source docker://quay.io/acme/app:1: '
        "reading "
        'manifest 1 in quay.io/acme/app: unauthorized: access to the requested resource is not authorized"',
        ("containers-image-5.23", "containers-image-5.24", "containers-image-current"),
        ("docker-20.10",),
        "quay.io/acme/app:1",
    ),
    # dockerd's log line: the URL inside is quoted with \"
    (
        'time="2024-05-01T10:00:00Z" level=error msg="Handler for POST /v1.43/images/create returned error: '
        'Get \\"https://registry-1.docker.io/v2/jboss/keycloak/manifests/2.0\\": unauthorized: incorrect '
        'username or password"',
        ("docker-20.10",),
        (),
        "docker.io/jboss/keycloak:2.0",
    ),
    # containerd / ctr
    (
        'ctr: failed to resolve reference "docker.io/library/busybox:nosuchtag": '
        "docker.io/library/busybox:nosuchtag: not found",
        ("containerd",),
        ("docker-20.10", "kubelet"),
        "docker.io/library/busybox:nosuchtag",
    ),
    (
        'ctr: failed to resolve reference "docker.io/library/thisimagedoesntexist:latest": pull access '
        "denied, "
        "repository does not exist or may require authorization: server message: insufficient_scope: "
        "authorization failed",
        ("containerd",),
        (),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    # kubelet event as kubectl describe pod shows it
    (
        "  Warning  Failed     12s (x3 over 50s)  kubelet            Failed to pull image "
        '"ghcr.io/acme/app:1.2": '
        'rpc error: code = NotFound desc = failed to pull and unpack image "ghcr.io/acme/app:1.2": failed to '
        'resolve reference "ghcr.io/acme/app:1.2": ghcr.io/acme/app:1.2: not found',
        ("kubelet",),
        ("docker-20.10",),
        "ghcr.io/acme/app:1.2",
    ),
    (
        '  Normal   BackOff    3s (x4 over 60s)  kubelet  Back-off pulling image "nginx:1.25"',
        ("kubelet",),
        (),
        "nginx:1.25",
    ),
    # crane
    (
        "Error: GET https://index.docker.io/v2/library/thisimagedoesntexist/manifests/latest: UNAUTHORIZED: "
        "authentication required; [map[Action:pull Class: Name:library/thisimagedoesntexist "
        "Type:repository]]",
        ("crane",),
        ("docker-20.10",),
        "docker.io/library/thisimagedoesntexist:latest",
    ),
    # ECR without login, wrapped by a terminal in the middle of a word
    (
        "Error response from daemon: Get "
        '"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/app/manifes\n'
        'ts/1.0": no basic auth credentials',
        ("docker-20.10",),
        ("containers-image-current",),
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:1.0",
    ),
    # Artifact Registry denial at the token endpoint (podman)
    (
        "Error: initializing source docker://europe-west1-docker.pkg.dev/proj/repo/app:1: reading manifest "
        "1 in "
        'europe-west1-docker.pkg.dev/proj/repo/app: denied: Permission "artifactregistry.repositories.'
        'downloadArtifacts" denied on resource "projects/proj/locations/europe-west1/repositories/repo" '
        "(or it may not exist)",
        ("containers-image-current",),
        (),
        "europe-west1-docker.pkg.dev/proj/repo/app:1",
    ),
    # no reference in the text
    ("x509: certificate signed by unknown authority", CLIENT_IDS, (), None),
]


@pytest.mark.parametrize(("text", "listed", "absent", "reference"), ROWS, ids=[r[0][:50] for r in ROWS])
def test_pasted_lines(
    text: str, listed: tuple[str, ...], absent: tuple[str, ...], reference: str | None
) -> None:
    result = explain(text)
    clients = [m.client for m in result.matches]
    assert result.recognised
    for client in listed:
        assert client in clients, clients
    for client in absent:
        assert client not in clients, clients
    assert result.reference == reference
    if reference is None:
        assert result.command is None
    else:
        assert result.command == f"diagnose compare {reference}"
    assert all(m.meaning and m.client in CLIENT_IDS for m in result.matches)


@pytest.mark.parametrize(
    "text",
    [
        "hello world",
        "Successfully built 1234abcd",
        "Error: no such container: web",
        "permission denied while trying to connect to the Docker daemon socket",
        "EOF is a word",
        "The tag was not found in my notes",
    ],
)
def test_text_no_model_prints_is_not_recognised(text: str) -> None:
    result = explain(text)
    assert not result.recognised
    assert result.matches == () and result.reference is None and result.command is None


def test_vendor_next_steps_are_filled_from_the_host() -> None:
    ecr = explain(
        "Error response from daemon: Get "
        '"https://123456789012.dkr.ecr.eu-west-1.amazonaws.com/v2/app/manifests/1": '
        "no basic auth credentials"
    )
    assert ecr.vendor == "Amazon ECR"
    assert any(
        "aws ecr get-login-password --region eu-west-1" in s and "12 hours" not in s for s in ecr.next_steps
    )
    assert any("12 hours" in s for s in ecr.next_steps)
    ghcr = explain(
        'Error response from daemon: Head "https://ghcr.io/v2/acme/app/manifests/1": denied: denied'
    )
    assert ghcr.vendor == "GitHub Container Registry"
    assert any("read:packages" in s for s in ghcr.next_steps)
    gitlab = explain(
        'Error response from daemon: Get "https://registry.gitlab.com/v2/grp/proj/manifests/1": denied: '
        "access forbidden"
    )
    assert any("read_registry" in s for s in gitlab.next_steps)


def test_plain_http_adds_the_insecure_registry_flag() -> None:
    result = explain(
        'Error: pinging container registry 10.0.0.5:5000: Get "https://10.0.0.5:5000/v2/": http: server gave '
        "HTTP response to HTTPS client"
    )
    assert result.reference is None  # the ping names no image
    result = explain(
        "Error: initializing source docker://10.0.0.5:5000/app:1: pinging container registry "
        "10.0.0.5:5000: Get "
        '"https://10.0.0.5:5000/v2/": http: server gave HTTP response to HTTPS client'
    )
    assert result.command == "diagnose compare 10.0.0.5:5000/app:1 --insecure-registry 10.0.0.5:5000"


def test_go_unquote_and_variants() -> None:
    assert go_unquote(r"a \"b\" \\ c\nd \x41 \u00e9") == 'a "b" \\ c\nd A é'
    readings = variants("first half of a wo\nrd and\nmore")
    assert "first half of a wo rd and more" in readings
    assert "first half of a word andmore" in readings


def test_every_template_compiles_and_names_known_clients() -> None:
    for template in TEMPLATES:
        _compiled(template.pattern)
        assert template.clients and set(template.clients) <= set(CLIENT_IDS), template.pattern
        if template.kind is Kind.CLIENT:
            assert template.source, template.pattern


# ---- what today's models print is recognised, with the right client id -----------------------

_HUB_401 = b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"x"}]}]}'
_INSUFFICIENT = (
    ("WWW-Authenticate", 'Bearer realm="https://auth.example/token",error="insufficient_scope"'),
)
_MANIFEST_UNKNOWN = (
    b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"x"}}]}'
)
_HTML = b"<html><body><h1>502 Bad Gateway</h1></body></html>"


def _skopeo_messages(version: sk.CImage) -> list[str]:
    repo = "registry.example/team/app"
    out = []
    for status, headers, body in (
        (401, _INSUFFICIENT, _HUB_401),
        (401, (), _HUB_401),
        (404, (), _MANIFEST_UNKNOWN),
        (403, (), b'{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]}'),
        (
            429,
            (),
            b'{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}',
        ),
        (502, (), _HTML),
        (404, (), _HTML),
    ):
        text, _ = sk.registry_error_text(status, f"{status} X", headers, body, version=version)
        out.append(sk.manifest_error("1", repo, text))
    out.append(
        sk.token_error(
            401, "401 Unauthorized", b'{"details":"incorrect username or password"}', version=version
        )
    )
    out.append(sk.token_error(403, "403 Forbidden", b"", version=version))
    out.append(
        sk.ping_error(
            "registry.example",
            sk.go_url_error(
                "GET", "https://registry.example/v2/", "x509: certificate signed by unknown authority"
            ),
        )
    )
    out.append(sk.no_platform_error("manifest list", "linux", "arm64", "v8", version=version))
    return out


def _docker112_messages() -> list[str]:
    url = "https://registry.example/v2/team/app/manifests/1"
    return [
        d12.v1_images_error(404, "team/app", "1", b""),
        d12.daemon_message(d12.v1_images_error(500, "team/app", "1", b"<html>"), flushed=True),
        d12.v1_tag_not_found("1", "registry.example/team/app"),
        d12.daemon_message(
            d12.url_error("GET", url, "unauthorized: incorrect username or password"), flushed=False
        ),
        d12.daemon_message(d12.no_basic_credentials_error("GET", url).text, flushed=False),
        d12.daemon_message(
            d12.v1_ping_error(
                "https://registry.example/v1/_ping", "x509: certificate signed by unknown authority"
            ),
            flushed=False,
        ),
        d12.v1_transport_error(
            "https://registry.example/v1/repositories/team/app/images",
            d12.FailureKind.DNS,
            "dial tcp: lookup x: no such host",
        ),
        d12.daemon_message(
            d12.v2_response_error(
                403, "403 Forbidden", b'{"errors":[{"code":"DENIED","message":"no"}]}'
            ).text,
            flushed=False,
        ),
        d12.daemon_message(
            d12.v2_response_error(
                429, "429", b'{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}'
            ).text,
            flushed=False,
        ),
    ]


@pytest.mark.parametrize(
    ("client", "messages"),
    [
        ("docker-1.12", _docker112_messages()),
        ("containers-image-current", _skopeo_messages(sk.CImage.CURRENT)),
        ("containers-image-5.24", _skopeo_messages(sk.CImage.V5_24)),
        ("containers-image-5.23", _skopeo_messages(sk.CImage.V5_23)),
    ],
)
def test_messages_of_the_client_models_are_recognised(client: str, messages: list[str]) -> None:
    for message in messages:
        result = explain(message)
        assert result.recognised, message
        assert client in [m.client for m in result.matches], (message, [m.client for m in result.matches])


# ---- the command line ---------------------------------------------------------------------------


def test_cli_json_contract_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["explain", "--json", HUB_DENIED_20])
    assert exited.value.code == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"recognised", "matches", "reference", "command"}
    assert data["recognised"] is True
    assert data["reference"] == "thisimagedoesntexist"
    assert data["command"] == "diagnose compare thisimagedoesntexist"
    assert [set(m) for m in data["matches"]] == [{"client", "meaning", "registry_answers"}] * len(
        data["matches"]
    )
    assert "docker-20.10" in [m["client"] for m in data["matches"]]

    with pytest.raises(SystemExit) as exited:
        main(["explain", "nothing to see here"])
    assert exited.value.code == 1
    assert "Not recognised" in capsys.readouterr().out


def test_cli_reads_stdin_and_rejects_empty_input() -> None:
    pasted = (
        "Using default tag: latest\nPulling repository 127.0.0.1:5000/team/app\n"
        "Error: image team/app:latest not found\n"
    )
    run = subprocess.run(
        [sys.executable, "-m", "diagnose", "explain"],
        input=pasted,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "docker-1.12" in run.stdout
    assert "Next: diagnose compare 127.0.0.1:5000/team/app:latest" in run.stdout
    empty = subprocess.run(
        [sys.executable, "-m", "diagnose", "explain", "-"],
        input="  \n",
        capture_output=True,
        text=True,
        check=False,
    )
    assert empty.returncode == 2
    assert "Traceback" not in empty.stderr


def test_what_the_real_clients_printed_is_recognised() -> None:
    """docs/real-clients.md holds what podman 4.3, buildah 1.28, docker 20.10 and ctr 1.6 printed
    against the real-registry matrix (tests/realreg): each line is recognised with its model's id."""
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "real-clients.md").read_text(encoding="utf-8")
    model = None
    checked = 0
    for line in doc.splitlines():
        heading = re.match(r"### \S+ vs `([^`]+)`", line)
        if heading:
            model = heading.group(1)
            continue
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if model is None or len(cells) < 3 or cells[0] in ("scenario", "---") or cells[1].startswith("("):
            continue
        printed = re.sub(r"<(?:token|basic|open|closed|plain)>", "127.0.0.1:5000", cells[1]).replace(
            "<br>", "\n"
        )
        assert model in [m.client for m in explain(printed).matches], (model, cells[0], printed)
        checked += 1
    assert checked >= 40
