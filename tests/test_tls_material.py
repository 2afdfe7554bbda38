"""certs.d directories as each client family reads them, and mutual-TLS registries.

Pure rows for the directory rules (containers/image ``dockerCertDir`` and
``tlsclientconfig.SetupCertificates``; docker ``ReadCertsDirectory``), then real TLS servers on
127.0.0.1 that require a client certificate, reached through the CLI with a test root for
``/etc`` (``--certs-root``).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from diagnose.tls_material import CertFamily, find_material, read_cert_dir
from tests.helpers_http import OpenV2Handler, make_pki, serve

HOST = "registry.example:5000"


def _touch(directory: Path, *names: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / name).write_text("x")
    return directory


def test_cert_dir_reads_crt_as_cas_and_cert_key_pairs(tmp_path: Path) -> None:
    d = _touch(tmp_path / "d", "b.crt", "a.crt", "client.cert", "client.key", "README")
    material = read_cert_dir(d)
    assert material.ca_files == (str(d / "a.crt"), str(d / "b.crt"))
    assert material.client_cert == (str(d / "client.cert"), str(d / "client.key"))
    assert material.error is None


def test_a_cert_without_its_key_is_refused_like_the_clients(tmp_path: Path) -> None:
    material = read_cert_dir(_touch(tmp_path / "d", "client.cert"))
    assert material.error == (
        "missing key client.key for client certificate client.cert. "
        "Note that CA certificates should use the extension .crt"
    )
    assert read_cert_dir(_touch(tmp_path / "e", "client.key")).error == (
        "missing client certificate client.cert for key client.key"
    )


def test_containers_image_looks_in_home_then_etc_containers_then_etc_docker(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "root"
    docker_dir = _touch(root / "etc/docker/certs.d" / HOST, "docker.crt")
    found = find_material(CertFamily.CONTAINERS, HOST, home=home, root=root)
    assert found.directory == str(docker_dir)
    etc_dir = _touch(root / "etc/containers/certs.d" / HOST, "containers.crt")
    assert find_material(CertFamily.CONTAINERS, HOST, home=home, root=root).directory == str(etc_dir)
    home_dir = _touch(home / ".config/containers/certs.d" / HOST, "home.crt")
    assert find_material(CertFamily.CONTAINERS, HOST, home=home, root=root).directory == str(home_dir)
    # docker reads only its own directory
    assert find_material(CertFamily.DOCKER, HOST, home=home, root=root).directory == str(docker_dir)


def test_cert_dir_option_wins_for_containers_image_only(tmp_path: Path) -> None:
    home, root = tmp_path / "home", tmp_path / "root"
    _touch(root / "etc/docker/certs.d" / HOST, "docker.crt")
    explicit = _touch(tmp_path / "explicit", "mine.crt")
    assert find_material(CertFamily.CONTAINERS, HOST, home=home, root=root, cert_dir=explicit).ca_files == (
        str(explicit / "mine.crt"),
    )
    assert find_material(CertFamily.DOCKER, HOST, home=home, root=root, cert_dir=explicit).ca_files == (
        str(root / "etc/docker/certs.d" / HOST / "docker.crt"),
    )


def test_the_port_is_part_of_the_directory_name(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _touch(root / "etc/containers/certs.d/registry.example", "noport.crt")
    assert not find_material(CertFamily.CONTAINERS, HOST, home=tmp_path, root=root).found


# --------------------------------------------------------------------------- mutual TLS, for real


class _ManifestUnknown(OpenV2Handler):
    def answer(self) -> None:
        body = b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"1.0"}}]}'
        self.reply(
            404,
            body,
            [("Content-Type", "application/json"), ("Docker-Distribution-API-Version", "registry/2.0")],
        )


def _certs_d(root: Path, family: str, host: str, server_ca: str, client: Path | None) -> Path:
    directory = root / "etc" / family / "certs.d" / host
    directory.mkdir(parents=True)
    shutil.copy(server_ca, directory / "ca.crt")
    if client is not None:
        shutil.copy(client / "cert.pem", directory / "client.cert")
        shutil.copy(client / "key.pem", directory / "client.key")
    return directory


def _compare(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, object]]:
    from diagnose.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["compare", *args, "--json", "--timeout", "10"])
    out = capsys.readouterr().out
    return int(exited.value.code or 0), json.loads(out)


def _strict(report: dict[str, object]) -> dict[str, object]:
    pulls = report["pulls"]
    assert isinstance(pulls, list)
    return next(p for p in pulls if p["strategy"] == "v2-only")


def test_mutual_tls_registry_with_the_client_pair_in_certs_d(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client_pki = make_pki(tmp_path / "client-pki", ("diagnose-test-client",))
    with serve(_ManifestUnknown, tls=True, client_ca=client_pki.ca_path) as server:
        host = f"127.0.0.1:{server.port}"
        assert server.ca_path is not None
        _certs_d(tmp_path / "root", "containers", host, server.ca_path, tmp_path / "client-pki")
        code, report = _compare(capsys, f"{host}/library/app:1.0", "--certs-root", str(tmp_path / "root"))
    strict = _strict(report)
    # The CA from certs.d was trusted and the client certificate accepted: the registry answered.
    assert strict["outcome"] == "not_found", strict
    assert code == 1


def test_mutual_tls_registry_without_a_client_certificate_is_a_tls_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client_pki = make_pki(tmp_path / "client-pki", ("diagnose-test-client",))
    with serve(_ManifestUnknown, tls=True, client_ca=client_pki.ca_path) as server:
        host = f"127.0.0.1:{server.port}"
        assert server.ca_path is not None
        _certs_d(tmp_path / "root", "containers", host, server.ca_path, None)
        _code, report = _compare(capsys, f"{host}/library/app:1.0", "--certs-root", str(tmp_path / "root"))
    strict = _strict(report)
    assert strict["outcome"] == "tls_error", strict
    diagnosis = report["diagnosis"]
    assert isinstance(diagnosis, dict)
    # The server's alert races its close: with it the evidence decides (client certificate),
    # without it the diagnosis says what is unknown and which command decides. Never "untrusted".
    assert diagnosis["id"] in ("client-certificate-required", "tls-handshake-failed"), diagnosis
    text = json.dumps(diagnosis)
    assert "client certificate" in text
    assert "certs.d" in text


def test_a_broken_certs_d_directory_is_an_input_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from diagnose.cli import main

    directory = tmp_path / "root/etc/containers/certs.d/127.0.0.1:9"
    _touch(directory, "client.cert")
    with pytest.raises(SystemExit) as exited:
        main(["compare", "127.0.0.1:9/library/app", "--certs-root", str(tmp_path / "root")])
    assert exited.value.code == 2
    assert "missing key client.key" in capsys.readouterr().err
