"""TLS to PostgreSQL and Redis, as production configures it (docs/security.md, "TLS to PostgreSQL and Redis").

A PostgreSQL cluster of its own (the pgserver wheel's binaries) accepts only ``hostssl`` connections, and a
Redis of its own (Debian's ``redis-server``) listens only on a TLS port; both present a certificate signed by
a throw-away CA made here. ``carecoord migrate`` and ``carecoord serve`` then run with the URLs the docs
give (``sslmode=verify-full&sslrootcert=...``, ``rediss://...?ssl_ca_certs=...``): the service must work,
every connection of the app role must be encrypted, and a client that does not trust the CA or will not
encrypt must be refused.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import redis
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from core.testing.fixtures import sign_up_over_http
from tests.conftest import patient_body
from tests.core.test_schemathesis import _free_port, serving

PG_BINS = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name))
PG_BIN = PG_BINS[-1].parent if PG_BINS else None
"""Debian's PostgreSQL (the pgserver wheel's build has no SSL): the CI machine has it, a laptop may not."""
REDIS_SERVER = shutil.which("redis-server")
pytestmark = [
    pytest.mark.skipif(PG_BIN is None, reason="needs Debian's PostgreSQL binaries (built with SSL)"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs Debian's redis-server (built with TLS)"),
]


@dataclass
class Certificates:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path
    """A CA that signed nothing here: trusting only it must fail."""


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _ca(folder: Path, stem: str) -> tuple[Any, x509.Certificate, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(f"carecoord test {stem}"))
        .issuer_name(_name(f"carecoord test {stem}"))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = folder / f"{stem}.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, path


RUN_AS = "postgres" if os.geteuid() == 0 and shutil.which("runuser") else None
"""PostgreSQL refuses to run as root: as root, the cluster runs as the ``postgres`` user."""


@pytest.fixture(scope="module")
def folder() -> Iterator[Path]:
    """A folder PostgreSQL's user may enter (pytest's own temporary folders are root's alone)."""
    made = Path(tempfile.mkdtemp(prefix="carecoord-tls-"))
    if RUN_AS:
        shutil.chown(made, RUN_AS)
    try:
        yield made
    finally:
        shutil.rmtree(made, ignore_errors=True)


@pytest.fixture(scope="module")
def certificates(folder: Path) -> Certificates:
    ca_key, ca_cert, ca_path = _ca(folder, "ca")
    _, _, other = _ca(folder, "other-ca")
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("localhost"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    cert_path, key_path = folder / "server.pem", folder / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    if RUN_AS:
        for path in (ca_path, cert_path, key_path, other):
            shutil.chown(path, RUN_AS)
    return Certificates(ca_path, cert_path, key_path, other)


@pytest.fixture(scope="module")
def tls_postgres(certificates: Certificates, folder: Path) -> Iterator[int]:
    data = folder / "data"
    port = _free_port()

    def run(*command: str) -> None:
        prefix = ["runuser", "-u", RUN_AS, "--"] if RUN_AS else []
        done = subprocess.run([*prefix, *command], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            log = data / "log"
            pytest.fail(f"{command[0]}: {done.stdout}{done.stderr}{log.read_text() if log.exists() else ''}")

    assert PG_BIN is not None
    run(str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
    with open(data / "postgresql.conf", "a") as conf:
        conf.write(
            f"\nport = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{data}'\n"
            f"ssl = on\nssl_cert_file = '{certificates.cert}'\nssl_key_file = '{certificates.key}'\n"
        )
    # encrypted connections only: no plain "host" line at all
    (data / "pg_hba.conf").write_text(
        "local all all trust\nhostssl all postgres 127.0.0.1/32 trust\nhostssl all all 127.0.0.1/32 scram-sha-256\n"
    )
    run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "log"), "-w", "start")
    try:
        yield port
    finally:
        run(str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


@pytest.fixture(scope="module")
def tls_redis(certificates: Certificates) -> Iterator[int]:
    assert REDIS_SERVER is not None
    port = _free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1",
         "--tls-cert-file", str(certificates.cert), "--tls-key-file", str(certificates.key),
         "--tls-ca-cert-file", str(certificates.ca), "--tls-auth-clients", "no",
         "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_service_runs_over_tls_only(tls_postgres: int, tls_redis: int, certificates: Certificates) -> None:
    database_url = (
        f"postgresql://postgres@127.0.0.1:{tls_postgres}/postgres?sslmode=verify-full&sslrootcert={certificates.ca}"
    )
    redis_url = f"rediss://127.0.0.1:{tls_redis}/0?ssl_ca_certs={certificates.ca}&ssl_cert_reqs=required"
    overrides: dict[str, str | None] = {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "APP_DATABASE_URL": None,  # the app role's DSN is derived from DATABASE_URL, TLS parameters included
    }
    env = {k: v for k, v in {**os.environ, **overrides}.items() if v is not None}
    migrated = subprocess.run([sys.executable, "-m", "core.cli", "migrate"], env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr[-3000:]

    with serving(env=overrides) as (base, _), httpx.Client(base_url=base, timeout=30) as http:
        assert http.get("/ready").status_code == 200  # PostgreSQL and Redis both answered
        headers = sign_up_over_http(http, "tls", "TLS")  # its login's rate limit lives in Redis
        assert http.post("/api/v1/patients", headers=headers, json=patient_body()).status_code == 201
        encrypted = asyncio.run(_app_connections(database_url))
        assert encrypted, "the service held no connection as the app role"
        assert all(encrypted), f"the app role's connections, encrypted or not: {encrypted}"

    # refused: a client that trusts another CA, and one that will not encrypt
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(asyncpg.connect(database_url.replace(str(certificates.ca), str(certificates.other_ca))))
    with pytest.raises(asyncpg.InvalidAuthorizationSpecificationError):
        asyncio.run(asyncpg.connect(f"postgresql://postgres@127.0.0.1:{tls_postgres}/postgres?sslmode=disable"))
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis.from_url(redis_url.replace(str(certificates.ca), str(certificates.other_ca))).ping()
    with pytest.raises(redis.exceptions.ConnectionError):
        redis.Redis(host="127.0.0.1", port=tls_redis, socket_timeout=2).ping()


async def _app_connections(database_url: str) -> list[bool]:
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "select s.ssl from pg_stat_ssl s join pg_stat_activity a using (pid) where a.usename = 'carecoord_app'"
        )
        return [bool(r["ssl"]) for r in rows]
    finally:
        await conn.close()
