"""A throwaway certificate authority for the real-registry tests.

Generates, into a directory, a CA, a TLS server certificate for ``127.0.0.1`` and
``localhost`` (used by every registry and by the token server) and a token-signing
certificate (ES256) whose chain ends at the CA, so that distribution can check the
JWT ``x5c`` header against its ``rootcertbundle``.

This module must not start servers or touch anything outside the directory it is given.
"""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_VALIDITY = datetime.timedelta(days=2)


@dataclass(frozen=True, slots=True)
class Pki:
    """Paths of the generated PEM files, plus what the token signer needs in memory."""

    ca_cert: Path  # PEM; also the registries' ``rootcertbundle``
    server_cert: Path  # PEM, SANs 127.0.0.1, ::1, localhost
    server_key: Path
    cert_dir: Path  # contains only ``ca.crt``: usable as ``skopeo --cert-dir``
    signing_key: ec.EllipticCurvePrivateKey
    signing_cert_der: bytes  # the leaf that goes into the JWT ``x5c`` header


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "diagnose realreg tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def make_pki(directory: Path) -> Pki:
    """Create a CA, a server certificate and a token-signing certificate in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name("diagnose realreg throwaway CA")
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    aki = x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key())

    def leaf(common_name: str, key: ec.EllipticCurvePrivateKey, *, server: bool) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + _VALIDITY)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(aki, critical=False)
        )
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [
                        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                        x509.IPAddress(ipaddress.ip_address("::1")),
                        x509.DNSName("localhost"),
                    ]
                ),
                critical=False,
            ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        return builder.sign(ca_key, hashes.SHA256())

    server_key = ec.generate_private_key(ec.SECP256R1())
    server_cert = leaf("127.0.0.1", server_key, server=True)
    signing_key = ec.generate_private_key(ec.SECP256R1())
    signing_cert = leaf("diagnose realreg token signer", signing_key, server=False)

    ca_path = directory / "ca.pem"
    ca_path.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_cert_path = directory / "server.crt"
    server_cert_path.write_bytes(server_cert.public_bytes(serialization.Encoding.PEM))
    server_key_path = directory / "server.key"
    server_key_path.write_bytes(_pem_key(server_key))
    server_key_path.chmod(0o600)
    (directory / "signing.crt").write_bytes(signing_cert.public_bytes(serialization.Encoding.PEM))

    # c/image reads *.crt in --cert-dir as extra roots; a lone ca.crt is what docker's
    # certs.d layout uses too.
    cert_dir = directory / "certs.d"
    cert_dir.mkdir(exist_ok=True)
    (cert_dir / "ca.crt").write_bytes(ca_path.read_bytes())

    return Pki(
        ca_cert=ca_path,
        server_cert=server_cert_path,
        server_key=server_key_path,
        cert_dir=cert_dir,
        signing_key=signing_key,
        signing_cert_der=signing_cert.public_bytes(serialization.Encoding.DER),
    )
