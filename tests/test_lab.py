"""The built-in lab, exercised over real HTTP on 127.0.0.1 with ``requests``."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import hashlib
import io
import ipaddress
import json
import socket
import subprocess
import sys
import tarfile
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from diagnose.lab import LAB_USERS, Lab, LabAuth, LabConfig, LabV1, start_lab
from diagnose.lab.content import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
    build_content,
)
from diagnose.lab.registry import RegistryApp
from diagnose.lab.tokens import (
    Access,
    InvalidToken,
    TokenIssuer,
    TokenProblem,
    decode_unverified,
    parse_scope,
)
from diagnose.lab.wire import LabRequest

ALL_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_MANIFEST_LIST, DOCKER_MANIFEST])
UNAUTHORIZED_PING = {
    "errors": [{"code": "UNAUTHORIZED", "message": "authentication required", "detail": None}]
}


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def lab() -> Iterator[Lab]:
    with start_lab() as running:
        yield running


@pytest.fixture(scope="module")
def open_lab() -> Iterator[Lab]:
    with start_lab(LabConfig(auth=LabAuth.NONE)) as running:
        yield running


@pytest.fixture(scope="module")
def v1_lab() -> Iterator[Lab]:
    with start_lab(LabConfig(v1=LabV1.PRESENT)) as running:
        yield running


def token_for(lab: Lab, scope: str, user: str | None = None, service: str = "diagnose-lab") -> str:
    auth = (user, LAB_USERS[user]) if user else None
    reply = requests.get(lab.token_url, params={"service": service, "scope": scope}, auth=auth, timeout=5)
    assert reply.status_code == 200, reply.text
    token = reply.json()["token"]
    assert isinstance(token, str)
    return token


def access_of(token: str) -> list[dict[str, object]]:
    access = decode_unverified(token)["access"]
    assert isinstance(access, list)
    return access


def get(
    lab: Lab, path: str, token: str | None = None, accept: str = ALL_ACCEPT, **kw: object
) -> requests.Response:
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.get(lab.registry_url + path, headers=headers, timeout=5, **kw)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------ ping


def test_ping_anonymous_is_a_docker_hub_style_bearer_challenge(lab: Lab) -> None:
    reply = requests.get(lab.registry_url + "/v2/", timeout=5)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == f'Bearer realm="{lab.token_url}",service="diagnose-lab"'
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    assert reply.json() == UNAUTHORIZED_PING


def test_ping_with_any_valid_token_is_200(lab: Lab) -> None:
    token = token_for(lab, "repository:nobody/nothing:pull")
    assert access_of(token) == []
    reply = get(lab, "/v2/", token)
    assert (reply.status_code, reply.json()) == (200, {})
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_lab_addresses(lab: Lab) -> None:
    assert lab.registry_host.startswith("127.0.0.1:")
    assert lab.registry_url == "http://" + lab.registry_host
    assert lab.token_url.startswith("http://127.0.0.1:") and lab.token_url.endswith("/token")
    assert lab.token_url.split(":")[2] != lab.registry_host.split(":")[1]
    assert set(lab.users) == {"alice", "bob"}


# ----------------------------------------------------------------------------- token server

GRANTS = [
    (None, "repository:library/busybox:pull", True),
    (None, "repository:library/doesnotexist:pull", False),  # Hub: empty access for a nonexistent name
    (None, "repository:busybox:pull", False),  # missing library/ prefix
    (None, "repository:alice/private-app:pull", False),
    (None, "repository:library/busybox:push", False),
    ("alice", "repository:alice/private-app:pull", True),
    ("alice", "repository:alice/not-created-yet:pull", True),  # her namespace, existing or not
    ("alice", "repository:bob/tools:pull", False),
    ("alice", "repository:library/alpine:pull", True),
    ("bob", "repository:bob/tools:pull", True),
    ("bob", "repository:alice/private-app:pull", False),
    ("bob", "registry:catalog:*", False),
]


@pytest.mark.parametrize(("user", "scope", "granted"), GRANTS)
def test_token_access_follows_docker_hub_policy(
    lab: Lab, user: str | None, scope: str, granted: bool
) -> None:
    access = access_of(token_for(lab, scope, user))
    if granted:
        name = scope.split(":")[1]
        assert access == [{"type": "repository", "name": name, "actions": ["pull"]}]
    else:
        assert access == []


def test_token_answer_shape(lab: Lab) -> None:
    reply = requests.get(
        lab.token_url,
        params={"service": "diagnose-lab", "scope": "repository:alice/private-app:pull", "account": "alice"},
        auth=("alice", LAB_USERS["alice"]),
        timeout=5,
    )
    body = reply.json()
    assert reply.headers["Content-Type"] == "application/json"
    assert body["token"] == body["access_token"]
    assert body["expires_in"] == 300
    issued = dt.datetime.strptime(body["issued_at"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs(issued.replace(tzinfo=dt.UTC).timestamp() - dt.datetime.now(dt.UTC).timestamp()) < 60
    header_b64, _, signature = body["token"].split(".")
    header = json.loads(base64.urlsafe_b64decode(header_b64 + "=" * (-len(header_b64) % 4)))
    assert header["alg"] == "HS256" and header["typ"] == "JWT"
    assert signature
    claims = decode_unverified(body["token"])
    assert set(claims) == {"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "access"}
    assert claims["sub"] == "alice" and claims["aud"] == "diagnose-lab"
    assert claims["exp"] - claims["iat"] == 300


def test_anonymous_token_has_empty_subject(lab: Lab) -> None:
    assert decode_unverified(token_for(lab, "repository:library/alpine:pull"))["sub"] == ""


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic " + base64.b64encode(b"alice:wrong").decode(),
        "Basic " + base64.b64encode(b"mallory:wonderland").decode(),
        "Basic !!!not-base64",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
    ],
)
def test_wrong_password_is_refused_at_the_token_endpoint(lab: Lab, authorization: str) -> None:
    reply = requests.get(
        lab.token_url,
        params={"service": "diagnose-lab", "scope": "repository:library/busybox:pull"},
        headers={"Authorization": authorization},
        timeout=5,
    )
    assert reply.status_code == 401
    assert reply.json() == {"details": "incorrect username or password"}
    assert "WWW-Authenticate" not in reply.headers


def test_token_oauth2_post_password_and_refresh(lab: Lab) -> None:
    form = {
        "grant_type": "password",
        "username": "bob",
        "password": LAB_USERS["bob"],
        "service": "diagnose-lab",
        "scope": "repository:bob/tools:pull",
        "client_id": "diagnose-tests",
        "access_type": "offline",
    }
    first = requests.post(lab.token_url, data=form, timeout=5).json()
    assert first["scope"] == "repository:bob/tools:pull"
    assert access_of(first["access_token"])[0]["name"] == "bob/tools"
    refreshed = requests.post(
        lab.token_url,
        data={
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "service": "diagnose-lab",
            "scope": "repository:bob/tools:pull",
            "client_id": "diagnose-tests",
        },
        timeout=5,
    ).json()
    assert decode_unverified(refreshed["access_token"])["sub"] == "bob"
    bad = requests.post(lab.token_url, data={**form, "password": "nope"}, timeout=5)
    assert (bad.status_code, bad.json()) == (401, {"details": "incorrect username or password"})
    odd = requests.post(lab.token_url, data={"grant_type": "magic"}, timeout=5)
    assert (odd.status_code, odd.json()) == (400, {"error": "unsupported_grant_type"})


def test_token_server_unknown_path_and_method(lab: Lab) -> None:
    base = lab.token_url.removesuffix("/token")
    assert requests.get(base + "/v2/", timeout=5).status_code == 404
    assert requests.delete(lab.token_url, timeout=5).status_code == 405


# ------------------------------------------------------------------------- registry auth


def test_anonymous_manifest_request_gets_scoped_challenge_without_error(lab: Lab) -> None:
    reply = get(lab, "/v2/library/busybox/manifests/latest")
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer realm="{lab.token_url}",service="diagnose-lab",scope="repository:library/busybox:pull"'
    )


@pytest.mark.parametrize(
    ("user", "repo"),
    [
        (None, "library/doesnotexist"),
        (None, "alice/private-app"),
        ("bob", "alice/private-app"),
        (None, "library/oldtimer"),  # V1-only: unknown to V2, so hidden like Hub does
    ],
)
def test_insufficient_scope_challenge_shape(lab: Lab, user: str | None, repo: str) -> None:
    token = token_for(lab, f"repository:{repo}:pull", user)
    reply = get(lab, f"/v2/{repo}/manifests/latest", token)
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"] == (
        f'Bearer realm="{lab.token_url}",service="diagnose-lab",'
        f'scope="repository:{repo}:pull",error="insufficient_scope"'
    )
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"
    assert reply.json() == {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": "authentication required",
                "detail": [{"Type": "repository", "Class": "", "Name": repo, "Action": "pull"}],
            }
        ]
    }


def forged_token() -> str:
    other = TokenIssuer(secret=b"not the lab secret")
    return other.issue("alice", "diagnose-lab", [Access("repository", "alice/private-app", ("pull",))])


@pytest.mark.parametrize(
    "make_token",
    [
        forged_token,
        lambda: "not-a-jwt",
        lambda: "a.b.c",
        lambda: "eyJhbGciOiJub25lIn0.e30.",
    ],
)
def test_invalid_token_challenge(lab: Lab, make_token: object) -> None:
    assert callable(make_token)
    reply = get(lab, "/v2/alice/private-app/manifests/latest", make_token())
    assert reply.status_code == 401
    assert reply.headers["WWW-Authenticate"].endswith(',error="invalid_token"')
    assert reply.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_token_for_another_service_is_invalid(lab: Lab) -> None:
    token = token_for(lab, "repository:library/busybox:pull", service="registry.docker.io")
    reply = get(lab, "/v2/library/busybox/manifests/latest", token)
    assert reply.status_code == 401
    assert 'error="invalid_token"' in reply.headers["WWW-Authenticate"]


@pytest.mark.parametrize(
    "authorization", ["Bearer", "Basic YWxpY2U6d29uZGVybGFuZA==", "Bearer  ", "\u00e9t\u00e9"]
)
def test_odd_authorization_headers_get_a_plain_challenge(lab: Lab, authorization: str) -> None:
    reply = requests.get(
        lab.registry_url + "/v2/library/alpine/manifests/latest",
        headers={"Authorization": authorization.encode("utf-8").decode("latin-1")},
        timeout=5,
    )
    assert reply.status_code == 401
    assert "error=" not in reply.headers["WWW-Authenticate"]


def test_push_is_never_granted(lab: Lab) -> None:
    token = token_for(lab, "repository:alice/private-app:pull,push", "alice")
    reply = requests.put(
        lab.registry_url + "/v2/alice/private-app/manifests/latest",
        headers={"Authorization": f"Bearer {token}"},
        data=b"{}",
        timeout=5,
    )
    assert reply.status_code == 401
    assert (
        'scope="repository:alice/private-app:pull,push",error="insufficient_scope"'
        in (reply.headers["WWW-Authenticate"])
    )


# --------------------------------------------------------------------------------- content


def fetch_all(lab: Lab, repo: str, token: str | None) -> dict[str, bytes]:
    """Every manifest and blob reachable from the repository's tags, verified against the wire."""
    served: dict[str, bytes] = {}
    tags = get(lab, f"/v2/{repo}/tags/list", token).json()["tags"]
    pending = []
    for tag in tags:
        reply = get(lab, f"/v2/{repo}/manifests/{tag}", token)
        assert reply.status_code == 200, (repo, tag, reply.text)
        pending.append(reply)
    while pending:
        reply = pending.pop()
        digest = reply.headers["Docker-Content-Digest"]
        assert sha256(reply.content) == digest
        assert reply.headers["Etag"] == f'"{digest}"'
        assert reply.headers["Content-Length"] == str(len(reply.content))
        body = reply.json()
        assert body["mediaType"] == reply.headers["Content-Type"]
        served[digest] = reply.content
        for child in body.get("manifests", []):
            child_reply = get(lab, f"/v2/{repo}/manifests/{child['digest']}", token)
            assert child_reply.headers["Content-Type"] == child["mediaType"]
            assert len(child_reply.content) == child["size"]
            pending.append(child_reply)
        for blob in [body["config"], *body["layers"]] if "config" in body else []:
            blob_reply = get(lab, f"/v2/{repo}/blobs/{blob['digest']}", token)
            assert blob_reply.status_code == 200
            assert blob_reply.headers["Docker-Content-Digest"] == blob["digest"]
            assert len(blob_reply.content) == blob["size"]
            served[blob["digest"]] = blob_reply.content
    return served


SOUND_REPOS = [
    ("library/busybox", None),
    ("library/alpine", None),
    ("library/oci-only", None),
    ("library/windows-only", None),
    ("alice/private-app", "alice"),
    ("bob/tools", "bob"),
]


@pytest.mark.parametrize(("repo", "user"), SOUND_REPOS)
def test_every_served_manifest_and_blob_matches_its_digest(lab: Lab, repo: str, user: str | None) -> None:
    served = fetch_all(lab, repo, token_for(lab, f"repository:{repo}:pull", user))
    assert served
    for digest, data in served.items():
        assert sha256(data) == digest


def test_corrupt_repository_serves_a_config_that_does_not_match(lab: Lab) -> None:
    token = token_for(lab, "repository:library/corrupt:pull")
    manifest = get(lab, "/v2/library/corrupt/manifests/latest", token).json()
    config_digest = manifest["config"]["digest"]
    reply = get(lab, f"/v2/library/corrupt/blobs/{config_digest}", token)
    assert reply.status_code == 200
    assert reply.headers["Docker-Content-Digest"] == config_digest
    assert sha256(reply.content) != config_digest
    assert len(reply.content) == manifest["config"]["size"]
    layer = manifest["layers"][0]["digest"]
    assert sha256(get(lab, f"/v2/library/corrupt/blobs/{layer}", token).content) == layer


def test_layers_are_real_gzip_tars_and_configs_name_their_diff_ids(open_lab: Lab) -> None:
    manifest = get(open_lab, "/v2/library/alpine/manifests/latest").json()
    layer = get(open_lab, f"/v2/library/alpine/blobs/{manifest['layers'][0]['digest']}").content
    tar_bytes = gzip.decompress(layer)
    with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
        assert tar.getnames() == ["etc/diagnose-lab/image"]
    config = get(open_lab, f"/v2/library/alpine/blobs/{manifest['config']['digest']}").json()
    assert config["rootfs"]["diff_ids"] == [sha256(tar_bytes)]
    assert (config["os"], config["architecture"]) == ("linux", "amd64")


def test_busybox_latest_is_a_two_platform_manifest_list(open_lab: Lab) -> None:
    reply = get(open_lab, "/v2/library/busybox/manifests/latest")
    assert reply.headers["Content-Type"] == DOCKER_MANIFEST_LIST
    platforms = [entry["platform"] for entry in reply.json()["manifests"]]
    assert platforms == [
        {"architecture": "amd64", "os": "linux"},
        {"architecture": "arm64", "os": "linux", "variant": "v8"},
    ]
    for entry in reply.json()["manifests"]:
        child = get(open_lab, f"/v2/library/busybox/manifests/{entry['digest']}").json()
        config = get(open_lab, f"/v2/library/busybox/blobs/{child['config']['digest']}").json()
        assert config["architecture"] == entry["platform"]["architecture"]
    single = get(open_lab, "/v2/library/busybox/manifests/1.36")
    assert single.headers["Content-Type"] == DOCKER_MANIFEST
    assert single.headers["Docker-Content-Digest"] == reply.json()["manifests"][0]["digest"]


def test_windows_only_index_has_no_linux_entry(open_lab: Lab) -> None:
    entries = get(open_lab, "/v2/library/windows-only/manifests/latest").json()["manifests"]
    assert [(e["platform"]["os"], e["platform"]["architecture"]) for e in entries] == [("windows", "amd64")]


def test_content_is_deterministic_across_processes() -> None:
    here = {name: dict(repo.tags) for name, repo in build_content().repositories.items()}
    code = (
        "import json; from diagnose.lab.content import build_content; "
        "print(json.dumps({n: dict(r.tags) for n, r in build_content().repositories.items()}))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert json.loads(out.stdout) == here


def test_catalogue_lists_only_what_is_served() -> None:
    content = build_content()
    for image in content.images:
        if "v2" in image.protocols:
            assert image.tag in content.repositories[image.repo].tags
        if "v1" in image.protocols:
            assert image.tag in content.v1_repositories[image.repo].tags
        namespace = image.repo.split("/")[0]
        assert image.visibility == ("public" if namespace == "library" else f"private to {namespace}")


# ------------------------------------------------------------------- manifests: negotiation


def test_manifest_head_has_digest_and_length_but_no_body(open_lab: Lab) -> None:
    reply = requests.head(
        open_lab.registry_url + "/v2/library/alpine/manifests/latest",
        headers={"Accept": ALL_ACCEPT},
        timeout=5,
    )
    assert reply.status_code == 200 and reply.content == b""
    full = get(open_lab, "/v2/library/alpine/manifests/latest")
    assert reply.headers["Docker-Content-Digest"] == full.headers["Docker-Content-Digest"]
    assert reply.headers["Content-Length"] == str(len(full.content))


def test_if_none_match_gives_304(open_lab: Lab) -> None:
    digest = get(open_lab, "/v2/library/alpine/manifests/latest").headers["Docker-Content-Digest"]
    reply = requests.get(
        open_lab.registry_url + "/v2/library/alpine/manifests/latest",
        headers={"Accept": ALL_ACCEPT, "If-None-Match": f'"{digest}"'},
        timeout=5,
    )
    assert reply.status_code == 304


def test_docker_112_accept_headers_get_the_list(open_lab: Lab) -> None:
    # docker 1.12 sends four separate Accept headers (moby v1.12.6 distribution/pull_v2.go).
    # requests would join them into one header, so speak raw HTTP.
    accepts = [
        DOCKER_MANIFEST,
        DOCKER_MANIFEST_LIST,
        "application/vnd.docker.distribution.manifest.v1+prettyjws",
        "application/json",
    ]
    head = "GET /v2/library/busybox/manifests/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    data = raw_exchange(open_lab, (head + "".join(f"Accept: {a}\r\n" for a in accepts) + "\r\n").encode())
    assert data.startswith(b"HTTP/1.1 200")
    assert f"Content-Type: {DOCKER_MANIFEST_LIST}".encode() in data


def test_list_without_list_accept_serves_the_linux_amd64_entry(open_lab: Lab) -> None:
    reply = get(open_lab, "/v2/library/busybox/manifests/latest", accept=DOCKER_MANIFEST)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == DOCKER_MANIFEST
    assert (
        reply.headers["Docker-Content-Digest"]
        == get(open_lab, "/v2/library/busybox/manifests/1.36").headers["Docker-Content-Digest"]
    )


@pytest.mark.parametrize(
    ("path", "accept", "status", "code", "message"),
    [
        (
            "/v2/library/oci-only/manifests/latest",
            DOCKER_MANIFEST,
            404,
            "MANIFEST_UNKNOWN",
            "OCI manifest found, but accept header does not support OCI manifests",
        ),
        ("/v2/library/alpine/manifests/latest", "application/json", 400, "MANIFEST_INVALID", None),
        (
            "/v2/library/windows-only/manifests/latest",
            DOCKER_MANIFEST,
            404,
            "MANIFEST_UNKNOWN",
            "manifest unknown",
        ),
    ],
)
def test_accept_negotiation_failures(
    open_lab: Lab, path: str, accept: str, status: int, code: str, message: str | None
) -> None:
    reply = get(open_lab, path, accept=accept)
    assert reply.status_code == status
    error = reply.json()["errors"][0]
    assert error["code"] == code
    if message:
        assert error["message"] == message


# ------------------------------------------------------------------------ not found cases


def test_missing_tag_is_manifest_unknown_with_tag_detail(lab: Lab) -> None:
    token = token_for(lab, "repository:library/busybox:pull")
    reply = get(lab, "/v2/library/busybox/manifests/nope", token)
    assert reply.status_code == 404
    assert reply.json() == {
        "errors": [{"code": "MANIFEST_UNKNOWN", "message": "manifest unknown", "detail": {"Tag": "nope"}}]
    }
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_missing_repo_with_access_is_manifest_unknown_and_name_unknown_on_tags(lab: Lab) -> None:
    token = token_for(lab, "repository:alice/not-created-yet:pull", "alice")
    reply = get(lab, "/v2/alice/not-created-yet/manifests/latest", token)
    assert (reply.status_code, reply.json()["errors"][0]["code"]) == (404, "MANIFEST_UNKNOWN")
    tags = get(lab, "/v2/alice/not-created-yet/tags/list", token)
    assert tags.status_code == 404
    assert tags.json() == {
        "errors": [
            {
                "code": "NAME_UNKNOWN",
                "message": "repository name not known to registry",
                "detail": {"name": "alice/not-created-yet"},
            }
        ]
    }


def test_missing_digest_and_blob(lab: Lab) -> None:
    token = token_for(lab, "repository:library/alpine:pull")
    digest = "sha256:" + "0" * 64
    manifest = get(lab, f"/v2/library/alpine/manifests/{digest}", token)
    assert manifest.json()["errors"][0]["detail"] == {"Name": "library/alpine", "Revision": digest}
    blob = get(lab, f"/v2/library/alpine/blobs/{digest}", token)
    assert blob.status_code == 404
    assert blob.json()["errors"][0] == {
        "code": "BLOB_UNKNOWN",
        "message": "blob unknown to registry",
        "detail": digest,
    }


def test_blob_of_another_repository_is_unknown_here(open_lab: Lab) -> None:
    bob_manifest = get(open_lab, "/v2/bob/tools/manifests/1.0").json()
    reply = get(open_lab, f"/v2/library/alpine/blobs/{bob_manifest['config']['digest']}")
    assert reply.status_code == 404


def test_tags_list(lab: Lab) -> None:
    token = token_for(lab, "repository:library/busybox:pull")
    assert get(lab, "/v2/library/busybox/tags/list", token).json() == {
        "name": "library/busybox",
        "tags": ["1.36", "latest"],
    }


# ------------------------------------------------------------------ failure behaviours


def test_rate_limited_manifest(lab: Lab) -> None:
    token = token_for(lab, "repository:library/ratelimited:pull")
    reply = get(lab, "/v2/library/ratelimited/manifests/latest", token)
    assert reply.status_code == 429
    assert reply.headers["Retry-After"] == "3600"
    assert reply.headers["ratelimit-limit"] == "100;w=21600"
    assert reply.headers["ratelimit-remaining"] == "0;w=21600"
    assert reply.headers["docker-ratelimit-source"] == "127.0.0.1"
    error = reply.json()["errors"][0]
    assert error["code"] == "TOOMANYREQUESTS"
    assert error["message"].startswith("You have reached your unauthenticated pull rate limit.")
    alice = token_for(lab, "repository:library/ratelimited:pull", "alice")
    assert (
        get(lab, "/v2/library/ratelimited/manifests/latest", alice)
        .json()["errors"][0]["message"]
        .startswith("You have reached your pull rate limit.")
    )


def test_broken_manifest_is_an_html_500(lab: Lab) -> None:
    token = token_for(lab, "repository:library/broken:pull")
    reply = get(lab, "/v2/library/broken/manifests/latest", token)
    assert reply.status_code == 500
    assert reply.headers["Content-Type"] == "text/html"
    assert reply.text.startswith("<html>")


def test_redirected_blobs_go_to_a_presigned_url(lab: Lab) -> None:
    token = token_for(lab, "repository:library/redirected:pull")
    manifest = get(lab, "/v2/library/redirected/manifests/latest", token).json()
    digest = manifest["layers"][0]["digest"]
    reply = get(lab, f"/v2/library/redirected/blobs/{digest}", token, allow_redirects=False)
    assert reply.status_code == 307
    assert reply.headers["Docker-Content-Digest"] == digest
    location = reply.headers["Location"]
    assert location.startswith(f"{lab.registry_url}/_storage/{digest}?")
    assert "X-Amz-Signature=" in location and "X-Amz-Credential=" in location
    stored = requests.get(location, timeout=5)
    assert stored.status_code == 200 and sha256(stored.content) == digest
    followed = get(lab, f"/v2/library/redirected/blobs/{digest}", token)
    assert followed.status_code == 200 and sha256(followed.content) == digest
    assert [r.status_code for r in followed.history] == [307]
    tampered = location[:-4] + ("0000" if not location.endswith("0000") else "1111")
    bad = requests.get(tampered, timeout=5)
    assert bad.status_code == 403 and b"SignatureDoesNotMatch" in bad.content
    head_on_get_url = requests.head(location, timeout=5)
    assert head_on_get_url.status_code == 403  # S3 signs GET and HEAD separately
    head = requests.head(
        f"{lab.registry_url}/v2/library/redirected/blobs/{digest}",
        headers={"Authorization": f"Bearer {token}"},
        allow_redirects=True,
        timeout=5,
    )
    assert head.status_code == 200


# ----------------------------------------------------------------------------------- V1


@pytest.mark.parametrize(
    "path",
    [
        "/v1/_ping",
        "/v1/repositories/library/busybox/images",
        "/v1/repositories/busybox/tags/latest",
        "/_ping",
    ],
)
def test_v1_absent_is_go_404(lab: Lab, path: str) -> None:
    reply = requests.get(lab.registry_url + path, headers={"X-Docker-Token": "true"}, timeout=5)
    assert reply.status_code == 404
    assert reply.text == "404 page not found\n"
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert reply.headers["Docker-Distribution-API-Version"] == "registry/2.0"


def test_v1_ping(v1_lab: Lab) -> None:
    reply = requests.get(v1_lab.registry_url + "/v1/_ping", timeout=5)
    assert (reply.status_code, reply.text) == (200, "true")
    assert reply.headers["X-Docker-Registry-Version"] == "0.9.1"
    assert reply.headers["X-Docker-Registry-Standalone"] == "true"
    assert "Docker-Distribution-API-Version" not in reply.headers


@pytest.mark.parametrize(
    ("name", "full"), [("oldtimer", "library/oldtimer"), ("library/busybox", "library/busybox")]
)
def test_v1_pull_path_succeeds(v1_lab: Lab, name: str, full: str) -> None:
    base = v1_lab.registry_url + "/v1"
    images = requests.get(f"{base}/repositories/{name}/images", headers={"X-Docker-Token": "true"}, timeout=5)
    assert images.status_code == 200
    assert images.headers["X-Docker-Endpoints"] == v1_lab.registry_host
    assert images.headers["X-Docker-Token"].startswith("signature=")
    assert images.headers["WWW-Authenticate"].startswith("Token signature=")
    assert f'repository="{full}"' in images.headers["X-Docker-Token"]
    listed = {entry["id"]: entry["checksum"] for entry in images.json()}
    image_id = requests.get(f"{base}/repositories/{name}/tags/latest", timeout=5).json()
    assert requests.get(f"{base}/repositories/{name}/tags", timeout=5).json() == {"latest": image_id}
    ancestry = requests.get(f"{base}/images/{image_id}/ancestry", timeout=5).json()
    assert ancestry[0] == image_id and set(ancestry) == set(listed)
    for layer_id in ancestry:
        meta = requests.get(f"{base}/images/{layer_id}/json", timeout=5)
        assert meta.json()["id"] == layer_id
        layer = requests.get(f"{base}/images/{layer_id}/layer", timeout=5).content
        assert meta.headers["X-Docker-Size"] == str(len(layer))
        assert sha256(layer) == listed[layer_id]
        gzip.decompress(layer)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/v1/repositories/library/nothing/images", "images not found"),
        ("/v1/repositories/library/nothing/tags", "Repository not found"),
        ("/v1/repositories/library/oldtimer/tags/nope", "Tag not found"),
        ("/v1/images/" + "0" * 64 + "/ancestry", "Image not found"),
        ("/v1/images/" + "0" * 64 + "/layer", "Image not found"),
    ],
)
def test_v1_not_found_bodies(v1_lab: Lab, path: str, error: str) -> None:
    reply = requests.get(v1_lab.registry_url + path, timeout=5)
    assert reply.status_code == 404
    assert reply.json() == {"error": error}
    assert reply.headers["Content-Type"] == "application/json"


def test_v1_present_does_not_change_v2(v1_lab: Lab) -> None:
    token = token_for(v1_lab, "repository:library/oldtimer:pull")
    assert access_of(token) == []
    assert get(v1_lab, "/v2/library/oldtimer/manifests/latest", token).status_code == 401
    assert requests.get(v1_lab.registry_url + "/v2/", timeout=5).status_code == 401


# ------------------------------------------------------------------------------ modes


def test_basic_mode() -> None:
    with start_lab(LabConfig(auth=LabAuth.BASIC)) as basic:
        anonymous = requests.get(basic.registry_url + "/v2/", timeout=5)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="diagnose-lab"'
        assert anonymous.headers["Docker-Distribution-API-Version"] == "registry/2.0"
        assert anonymous.json() == UNAUTHORIZED_PING
        wrong = requests.get(basic.registry_url + "/v2/", auth=("alice", "nope"), timeout=5)
        assert wrong.status_code == 401
        alice = ("alice", LAB_USERS["alice"])
        assert requests.get(basic.registry_url + "/v2/", auth=alice, timeout=5).status_code == 200
        # No per-repository policy with Basic: alice reads bob's repository.
        reply = requests.get(
            basic.registry_url + "/v2/bob/tools/manifests/1.0",
            auth=alice,
            headers={"Accept": ALL_ACCEPT},
            timeout=5,
        )
        assert reply.status_code == 200
        denied = requests.get(basic.registry_url + "/v2/bob/tools/manifests/1.0", timeout=5)
        assert denied.status_code == 401
        assert denied.json()["errors"][0]["detail"] == [
            {"Type": "repository", "Class": "", "Name": "bob/tools", "Action": "pull"}
        ]


def test_none_mode_serves_everything_anonymously(open_lab: Lab) -> None:
    assert requests.get(open_lab.registry_url + "/v2/", timeout=5).status_code == 200
    assert get(open_lab, "/v2/alice/private-app/manifests/latest").status_code == 200


def test_not_a_registry() -> None:
    with start_lab(LabConfig(not_a_registry=True)) as web:
        for path in ("/v2/", "/v2/library/busybox/manifests/latest", "/v1/_ping", "/"):
            reply = requests.get(web.registry_url + path, timeout=5)
            assert reply.status_code == 404
            assert reply.headers["Content-Type"] == "text/html"
            assert reply.text == "<html><body><h1>404 Not Found</h1></body></html>"
            assert "Docker-Distribution-API-Version" not in reply.headers


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "diagnose-lab")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    certfile, keyfile = directory / "cert.pem", directory / "key.pem"
    certfile.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    keyfile.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return str(certfile), str(keyfile)


def test_tls_mode(self_signed: tuple[str, str]) -> None:
    certfile, _ = self_signed
    with start_lab(LabConfig(tls=self_signed)) as secure:
        assert secure.registry_url.startswith("https://127.0.0.1:")
        assert secure.token_url.startswith("http://")
        reply = requests.get(secure.registry_url + "/v2/", verify=certfile, timeout=5)
        assert reply.status_code == 401
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(secure.registry_url + "/v2/", timeout=5)
        # A plain-HTTP client on the TLS port must not wedge the server.
        plain = requests.Session()
        with pytest.raises(requests.exceptions.ConnectionError):
            plain.get("http://" + secure.registry_host + "/v2/", timeout=5)
        token = token_for(secure, "repository:library/redirected:pull")
        digest = get(secure, "/v2/library/redirected/manifests/latest", token, verify=certfile).json()[
            "layers"
        ][0]["digest"]
        blob = get(secure, f"/v2/library/redirected/blobs/{digest}", token, verify=certfile)
        assert blob.history[0].headers["Location"].startswith("https://")
        assert sha256(blob.content) == digest


# ------------------------------------------------------------------------- robustness


def raw_exchange(lab: Lab, payload: bytes) -> bytes:
    host, port = lab.registry_host.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as raw:
        raw.sendall(payload)
        data = b""
        try:
            while chunk := raw.recv(65536):
                data += chunk
        except TimeoutError:
            pass
    return data


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /v2/\xff\xfe/manifests/latest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"404"),
        (b"GET /v2/%ff%00/blobs/x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"404"),
        (
            b"GET /v2/library/busybox/manifests/../../x HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            b"404",
        ),
        (
            b"GET /v2/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\nConnection: close\r\n\r\n",
            b"401",
        ),
        (b"POST /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\nConnection: close\r\n\r\n", b"400"),
        (
            b"POST /v2/ HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n",
            b"413",
        ),
        (b"BREW /v2/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", b"501"),
    ],
)
def test_garbage_gets_an_http_answer_and_no_stderr(
    lab: Lab, capfd: pytest.CaptureFixture[str], payload: bytes, status: bytes
) -> None:
    data = raw_exchange(lab, payload)
    assert data.split(b" ", 2)[1] == status, data[:200]
    assert requests.get(lab.registry_url + "/v2/", timeout=5).status_code == 401  # still serving
    captured = capfd.readouterr()
    assert captured.err == ""


def test_requests_seen_records_both_servers(lab: Lab) -> None:
    marker = "seen-marker"
    token_for(lab, f"repository:library/{marker}:pull", "alice")
    get(lab, f"/v2/library/{marker}/tags/list")
    seen = [s for s in lab.requests_seen() if marker in s.path]
    assert [s.server for s in seen] == ["token", "registry"]
    assert seen[0].method == "GET" and seen[0].path.startswith("/token?")
    assert any(k.lower() == "authorization" and v.startswith("Basic ") for k, v in seen[0].headers)
    assert ("Accept", ALL_ACCEPT) in seen[1].headers


def test_concurrent_requests(lab: Lab) -> None:
    results: list[int] = []

    def worker() -> None:
        results.append(requests.get(lab.registry_url + "/v2/", timeout=5).status_code)

    threads = [threading.Thread(target=worker) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [401] * 16


def _serves(thread: threading.Thread, ports: list[int]) -> bool:
    """Whether a thread belongs to this lab: its serve loop, or a connection to one of its ports.

    Other labs (session fixtures) may be serving their own connections at the same moment.
    """
    if thread.name.startswith("lab-"):
        return True
    args = getattr(thread, "_args", ())
    request = args[0] if args else None
    try:
        return isinstance(request, socket.socket) and request.getsockname()[1] in ports
    except OSError:
        return False


def test_stop_releases_ports_and_threads_even_with_keep_alive_connections() -> None:
    before = set(threading.enumerate())
    running = start_lab()
    session = requests.Session()
    assert session.get(running.registry_url + "/v2/", timeout=5).status_code == 401  # pooled, kept alive
    assert session.get(running.token_url, timeout=5).status_code == 200
    ports = [int(running.registry_host.split(":")[1]), int(running.token_url.split(":")[2].split("/")[0])]
    stopper = threading.Thread(target=running.stop)
    stopper.start()
    stopper.join(timeout=10)
    assert not stopper.is_alive(), "stop() hung"
    for port in ports:
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        probe = socket.socket()
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.close()
    deadline = time.monotonic() + 3
    lingering = [t for t in set(threading.enumerate()) - before if t.is_alive() and _serves(t, ports)]
    while lingering and time.monotonic() < deadline:  # a handler may be returning right now
        time.sleep(0.05)
        lingering = [t for t in lingering if t.is_alive()]
    assert lingering == []
    running.stop()  # idempotent
    session.close()


def test_fixed_ports_are_honoured() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    with start_lab(LabConfig(registry_port=port)) as fixed:
        assert fixed.registry_host == f"127.0.0.1:{port}"
        with pytest.raises(OSError):
            start_lab(LabConfig(registry_port=port))


# ------------------------------------------------------------------------ tokens (pure)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("repository:library/busybox:pull", Access("repository", "library/busybox", ("pull",))),
        (
            "repository:localhost:5000/app:pull,push",
            Access("repository", "localhost:5000/app", ("pull", "push")),
        ),
        ("registry:catalog:*", Access("registry", "catalog", ("*",))),
        ("repository:library/busybox", None),
        ("repository::pull", None),
        ("nonsense", None),
        ("", None),
    ],
)
def test_parse_scope(text: str, expected: Access | None) -> None:
    assert parse_scope(text) == expected


def test_token_expiry_and_audience() -> None:
    now = [1_000_000.0]
    issuer = TokenIssuer(secret=b"s", clock=lambda: now[0])
    token = issuer.issue("alice", "diagnose-lab", [])
    assert issuer.verify(token, "diagnose-lab").sub == "alice"
    with pytest.raises(InvalidToken) as wrong:
        issuer.verify(token, "elsewhere")
    assert wrong.value.problem is TokenProblem.WRONG_AUDIENCE
    now[0] += 301
    with pytest.raises(InvalidToken) as expired:
        issuer.verify(token, "diagnose-lab")
    assert expired.value.problem is TokenProblem.EXPIRED
    refresh = issuer.issue_refresh("alice", "diagnose-lab")
    with pytest.raises(InvalidToken):
        issuer.verify(refresh, "diagnose-lab")  # a refresh token is not an access token


def test_expired_token_is_invalid_at_the_registry() -> None:
    # Drive the registry app directly with a clock we control: the lab's own secret stays private.
    now = [1_000_000.0]
    issuer = TokenIssuer(clock=lambda: now[0])
    app = RegistryApp(
        content=build_content(),
        issuer=issuer,
        users=LAB_USERS,
        token_url="http://127.0.0.1:1/token",
        base_url="http://127.0.0.1:2",
    )
    token = issuer.issue("", "diagnose-lab", [Access("repository", "library/alpine", ("pull",))])
    request = LabRequest(
        "GET",
        "/v2/library/alpine/manifests/latest",
        (("Authorization", f"Bearer {token}"), ("Accept", ALL_ACCEPT)),
    )
    assert app.handle(request).status == 200
    now[0] += 301
    expired = app.handle(request)
    assert expired.status == 401
    assert dict(expired.headers)["WWW-Authenticate"].endswith(',error="invalid_token"')
