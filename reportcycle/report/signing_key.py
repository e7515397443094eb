"""A self-signed PKCS#12 signing key, for the demo and the tests: a real RSA key and
certificate, trusted only by whoever is handed its certificate (written next to it as .pem).
A real site uses the key its certification authority issued instead."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path


def make_self_signed(
    path: Path, passphrase: str, *, name: str, organisation: str, now: datetime
) -> Path:
    """Write `path` (.p12) and its certificate beside it (.pem); return the .pem's path."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, name),
        ]
    )
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            name.encode(),
            key,
            cert,
            None,
            serialization.BestAvailableEncryption(passphrase.encode()),
        )
    )
    pem = path.with_suffix(".pem")
    pem.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pem
