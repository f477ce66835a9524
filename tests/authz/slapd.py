"""A real OpenLDAP ``slapd`` (the Debian package) on 127.0.0.1, with its own config and database
under a temporary directory, for the LDAP role provider's tests."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

SUFFIX = "dc=example,dc=org"
ADMIN_DN = f"cn=admin,{SUFFIX}"
ADMIN_PASSWORD = "admin-secret"
PEOPLE = f"ou=people,{SUFFIX}"
GROUPS = f"ou=groups,{SUFFIX}"
SLAPD = shutil.which("slapd") or ("/usr/sbin/slapd" if Path("/usr/sbin/slapd").exists() else None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Slapd:
    """A running directory: its URL and how to change it."""

    url: str
    process: subprocess.Popen[bytes]
    root: Path
    log: IO[bytes]

    def admin(self) -> object:
        import ldap3

        return ldap3.Connection(ldap3.Server(self.url), ADMIN_DN, ADMIN_PASSWORD, auto_bind=True)

    def add_user(self, uid: str, password: str) -> str:
        dn = f"uid={uid},{PEOPLE}"
        conn = self.admin()
        conn.add(  # type: ignore[attr-defined]
            dn,
            ["inetOrgPerson"],
            {"cn": uid, "sn": uid, "uid": uid, "userPassword": password},
        )
        conn.unbind()  # type: ignore[attr-defined]
        return dn

    def add_group(self, name: str, members: list[str]) -> None:
        conn = self.admin()
        conn.add(  # type: ignore[attr-defined]
            f"cn={name},{GROUPS}",
            ["groupOfUniqueNames"],
            {"cn": name, "uniqueMember": [f"uid={m},{PEOPLE}" for m in members]},
        )
        conn.unbind()  # type: ignore[attr-defined]

    def remove_member(self, group: str, member: str) -> None:
        import ldap3

        conn = self.admin()
        conn.modify(  # type: ignore[attr-defined]
            f"cn={group},{GROUPS}", {"uniqueMember": [(ldap3.MODIFY_DELETE, [f"uid={member},{PEOPLE}"])]}
        )
        conn.unbind()  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.log.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def make_certificates(root: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1 signed by it (openssl): (ca, cert, key)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    assert openssl is not None
    root.mkdir(parents=True, exist_ok=True)
    ca_key, ca, key, csr, cert = (
        root / n for n in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem")
    )
    ext = root / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=test-ca",
    )
    run(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(key),
        "-out",
        str(csr),
        "-subj",
        "/CN=127.0.0.1",
    )
    run(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    return ca, cert, key


def start_slapd(root: Path, *, tls: tuple[Path, Path, Path] | None = None) -> Slapd:
    """Start slapd with a fresh mdb database (suffix dc=example,dc=org) and ou=people, ou=groups;
    with ``tls`` (ca, cert, key) it offers StartTLS."""
    if SLAPD is None:
        if os.environ.get("CI") == "true":
            pytest.fail("slapd is not installed (Debian package slapd; make test installs it)")
        pytest.skip("slapd is not installed (apt-get install slapd)")
    data = root / "data"
    data.mkdir(parents=True)
    port = _free_port()
    conf = root / "slapd.conf"
    conf.write_text(
        "\n".join(
            [
                *(f"include /etc/ldap/schema/{s}.schema" for s in ("core", "cosine", "inetorgperson", "nis")),
                f"pidfile {root}/slapd.pid",
                *(
                    [
                        f"TLSCACertificateFile {tls[0]}",
                        f"TLSCertificateFile {tls[1]}",
                        f"TLSCertificateKeyFile {tls[2]}",
                    ]
                    if tls
                    else []
                ),
                "modulepath /usr/lib/ldap",
                "moduleload back_mdb",
                "database mdb",
                "maxsize 10485760",
                f'suffix "{SUFFIX}"',
                f'rootdn "{ADMIN_DN}"',
                f"rootpw {ADMIN_PASSWORD}",
                f"directory {data}",
                "access to attrs=userPassword by self read by anonymous auth by * none",
                "access to * by * read",
                "",
            ]
        )
    )
    url = f"ldap://127.0.0.1:{port}"
    log = (root / "slapd.log").open("wb")
    process = subprocess.Popen(
        [SLAPD, "-f", str(conf), "-h", f"{url}/", "-d", "0"], stdout=log, stderr=subprocess.STDOUT
    )
    server = Slapd(url, process, root, log)
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"slapd exited: {(root / 'slapd.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline:
                server.stop()
                raise RuntimeError("slapd did not listen within 30 s") from None
            time.sleep(0.05)
    try:
        _populate(server)
    except BaseException:
        server.stop()
        raise
    return server


def _populate(server: Slapd) -> None:
    conn = server.admin()
    conn.add(SUFFIX, ["dcObject", "organization"], {"dc": "example", "o": "Example"})  # type: ignore[attr-defined]
    conn.add(PEOPLE, ["organizationalUnit"], {"ou": "people"})  # type: ignore[attr-defined]
    conn.add(GROUPS, ["organizationalUnit"], {"ou": "groups"})  # type: ignore[attr-defined]
    conn.unbind()  # type: ignore[attr-defined]


def ldap_settings(server: Slapd, **extra: object) -> dict[str, object]:
    """``[authz.ldap]`` for this directory."""
    return {
        "url": server.url,
        "bind_dn": ADMIN_DN,
        "bind_password": ADMIN_PASSWORD,
        "user_dn_pattern": f"uid={{0}},{PEOPLE}",
        "group_search_base": GROUPS,
        "group_search_filter": "(uniqueMember={0})",
        "timeout_seconds": 3,
        **extra,
    }
