"""A real Dovecot IMAP server on loopback for the test session.

Use it from a test module with

    from tests.imap_server import dovecot_server, imap_mailbox  # noqa: F401

and ask for the fixtures by name: `dovecot` (session scope) starts one server; `imap` (per
test) empties the mailbox first. Both give the same `Dovecot` object: `url()`, `append()`,
`uids()`, `flags()`, `messages()`, `folders()`, `recreate_folder()`, `kick()`,
`reset_mailbox()`. (The functions are named apart from their fixtures so that the import does
not clash with the tests' arguments: ruff F811.)

The server has its own config, ports, run and state directories, so a system Dovecot on the
same machine is never touched. CI installs Dovecot via .ci/system-deps.sh.
"""

from __future__ import annotations

import contextlib
import grp
import imaplib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = Path("/usr/bin/doveadm")
HOST = "127.0.0.1"
USER = "baocao"
# URL-special characters to percent-decode, and a Vietnamese letter (IMAP LOGIN is ASCII-only).
PASSWORD = "s3cret@p:ss/w-mật"
START_TIMEOUT = 15.0
_UID = re.compile(rb"\bUID (\d+)")
_FLAGS = re.compile(rb"\bFLAGS \(([^)]*)\)")

CONFIG = """\
# Throwaway test server: every path is in {root}, nothing shared with a system Dovecot.
protocols = imap
listen = {host}
base_dir = {root}/run
state_dir = {root}/state
instance_name = reportcycle-test-{pid}
log_path = {root}/dovecot.log
mail_location = maildir:~/Maildir
mail_fsync = never
first_valid_uid = {uid}
first_valid_gid = {gid}
{privileges}
# ssl = yes (not "required"): the imap port offers STARTTLS and still allows plaintext.
ssl = yes
ssl_cert = <{root}/cert.pem
ssl_key = <{root}/key.pem
# Dovecot 2.3 spelling; 2.4 renamed it auth_allow_cleartext.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
auth_verbose = yes
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
# No anvil "auth penalty": after a failed login it delays the next ones from that IP
# by 2^n seconds, which the wrong-password tests would pay. (Dovecot's documented switch.)
service anvil {{
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
{chroot}}}
service imap-login {{
  inet_listener imap {{
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = {imaps_port}
    ssl = yes
  }}
{chroot}}}
"""


@dataclass
class Dovecot:
    root: Path
    imap_port: int
    imaps_port: int
    host: str = HOST
    user: str = USER
    password: str = PASSWORD

    @property
    def cafile(self) -> Path:
        return self.root / "cert.pem"  # self-signed: the certificate is its own CA

    @property
    def config(self) -> Path:
        return self.root / "dovecot.conf"

    def url(self, kind: str = "imap", folder: str = "INBOX") -> str:
        port = self.imaps_port if kind == "imaps" else self.imap_port
        credentials = f"{quote(self.user, safe='')}:{quote(self.password, safe='')}"
        return f"{kind}://{credentials}@{self.host}:{port}/{quote(folder)}"

    def log_tail(self, lines: int = 30) -> str:
        log = self.root / "dovecot.log"
        text = log.read_text(errors="replace") if log.exists() else "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    @contextlib.contextmanager
    def connect(self) -> Iterator[imaplib.IMAP4]:
        """A plain loopback session for the helpers (plaintext login is allowed here)."""
        conn = imaplib.IMAP4(self.host, self.imap_port, timeout=10)
        # imaplib writes a literal and its CRLF separately (AUTHENTICATE, APPEND): without
        # NODELAY each such command waits ~40 ms for the server's delayed ACK.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn.authenticate("PLAIN", lambda _: f"\0{self.user}\0{self.password}".encode())
            yield conn
        finally:
            conn.logout()

    def append(self, raw: bytes, folder: str = "INBOX", flags: str = "") -> None:
        with self.connect() as conn:
            typ, data = conn.append(_quote(folder), flags or None, None, raw)
            assert typ == "OK", f"APPEND to {folder} failed: {data}"

    def uids(self, folder: str = "INBOX") -> list[int]:
        with self.connect() as conn:
            typ, data = conn.select(_quote(folder), readonly=True)
            assert typ == "OK", f"cannot open {folder}: {data}"
            typ, data = conn.uid("SEARCH", "ALL")
            return sorted(int(u) for u in b" ".join(d for d in data if d).split())

    def messages(self, folder: str = "INBOX") -> list[bytes]:
        """Every message's bytes, in UID order, leaving \\Seen alone."""
        with self.connect() as conn:
            typ, data = conn.select(_quote(folder), readonly=True)
            assert typ == "OK", f"cannot open {folder}: {data}"
            if int(data[0] or 0) == 0:
                return []
            typ, fetched = conn.uid("FETCH", "1:*", "(BODY.PEEK[])")
        return [item[1] for item in fetched if isinstance(item, tuple)]

    def flags(self, folder: str = "INBOX") -> dict[int, set[str]]:
        with self.connect() as conn:
            typ, data = conn.select(_quote(folder), readonly=True)
            assert typ == "OK", f"cannot open {folder}: {data}"
            if int(data[0] or 0) == 0:
                return {}
            typ, data = conn.uid("FETCH", "1:*", "(UID FLAGS)")
        found: dict[int, set[str]] = {}
        for line in data:
            uid = _UID.search(line) if isinstance(line, bytes) else None
            flags = _FLAGS.search(line) if isinstance(line, bytes) else None
            if uid and flags:
                found[int(uid.group(1))] = set(flags.group(1).decode().split())
        return found

    def doveadm(self, command: str, *args: str, as_user: bool = True) -> str:
        """`doveadm COMMAND -u USER ARGS…` against this server (folder names in UTF-8)."""
        user = ["-u", self.user] if as_user else []
        done = subprocess.run(
            [str(DOVEADM), "-c", str(self.config), *command.split(), *user, *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, f"doveadm {command} {args}: {done.stderr}\n{self.log_tail()}"
        return done.stdout

    def folders(self) -> dict[str, int]:
        """Every selectable folder with its message count, names in UTF-8 as people see them.
        (A parent like "Reportcycle" exists only as part of its child's name.)"""
        lines = self.doveadm("mailbox status", "messages", "*").splitlines()
        return {name: int(n) for name, n in (line.rsplit(" messages=", 1) for line in lines)}

    def uidvalidity(self, folder: str = "INBOX") -> int:
        out = self.doveadm("mailbox status", "uidvalidity", folder)  # "INBOX uidvalidity=…"
        return int(out.rsplit("=", 1)[1])

    def recreate_folder(self, folder: str = "INBOX") -> int:
        """Give the folder a new UIDVALIDITY, keeping its messages and UIDs — what a server
        migration or a rebuilt index looks like to a client. (IMAP cannot delete INBOX.)"""
        new = self.uidvalidity(folder) + 1
        self.doveadm("mailbox update", "--uid-validity", str(new), folder)
        return new

    def kick(self) -> None:
        """Disconnect the user's IMAP sessions, as an idle timeout or a restart does.

        A session that just logged in reaches Dovecot's session registry (anvil) a moment
        later; until then `doveadm kick` finds nobody and fails, so try for a few seconds."""
        command = [str(DOVEADM), "-c", str(self.config), "kick", self.user]
        deadline = time.monotonic() + 5
        while True:
            done = subprocess.run(command, capture_output=True, text=True, timeout=30)
            if done.returncode == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert done.returncode == 0, f"doveadm kick: {done.stderr}\n{self.log_tail()}"

    def reset_mailbox(self) -> None:
        """No messages anywhere and only INBOX left (its UIDVALIDITY stays)."""
        for name in sorted(self.folders(), key=lambda n: -n.count("/")):  # children first
            if name != "INBOX":
                self.doveadm("mailbox delete", "-s", name)
        self.doveadm("expunge", "mailbox", "INBOX", "all")


def _quote(folder: str) -> str:
    """For the IMAP helpers, which take ASCII folder names; `folders()` shows any name."""
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def free_ports(count: int) -> list[int]:
    # Bind all at once so the kernel hands out distinct ports, then let them go.
    with contextlib.ExitStack() as stack:
        socks = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in socks:
            sock.bind((HOST, 0))
        return [sock.getsockname()[1] for sock in socks]


def _write_config(root: Path, imap_port: int, imaps_port: int) -> Path:
    if os.geteuid() == 0:  # Dovecot refuses to deliver mail as root: use an unprivileged user
        account, privileges, chroot = pwd.getpwnam("nobody"), "", ""
    else:  # everything runs as us, and only root may chroot
        account = pwd.getpwuid(os.geteuid())
        group = grp.getgrgid(account.pw_gid).gr_name
        privileges = f"default_login_user = {account.pw_name}\n"
        privileges += f"default_internal_user = {account.pw_name}\n"
        privileges += f"default_internal_group = {group}"
        chroot = "  chroot =\n"
    mail = root / "mail"
    mail.mkdir()
    os.chown(mail, account.pw_uid, account.pw_gid)
    (root / "state").mkdir()
    config = root / "dovecot.conf"
    config.write_text(  # UTF-8: the password has a Vietnamese letter
        CONFIG.format(
            root=root,
            host=HOST,
            pid=os.getpid(),
            uid=account.pw_uid,
            gid=account.pw_gid,
            privileges=privileges,
            chroot=chroot,
            password=PASSWORD,
            imap_port=imap_port,
            imaps_port=imaps_port,
        ),
        encoding="utf-8",
    )
    return config


def _make_certificate(root: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=localhost", "-addext", f"subjectAltName=DNS:localhost,IP:{HOST}"]
        + ["-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True,
        capture_output=True,
        timeout=60,
    )


def _wait_ready(server: Dovecot, process: subprocess.Popen[bytes]) -> None:
    """Until the greeting on the imap port (the imaps listener is bound with it).

    A whole IMAP exchange, not a bare connect: a login process whose client vanished before
    the greeting lingers for seconds when the server stops."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(
                f"Dovecot exited with {process.returncode} at start:\n"
                f"{(server.root / 'dovecot.out').read_text()}\n"
                f"log ({server.root / 'dovecot.log'}):\n{server.log_tail()}"
            )
        try:
            imaplib.IMAP4(HOST, server.imap_port, timeout=1).logout()
            return
        except (OSError, imaplib.IMAP4.error):
            if time.monotonic() > deadline:
                pytest.fail(f"Dovecot not ready within {START_TIMEOUT}s:\n{server.log_tail()}")
            time.sleep(0.05)


@pytest.fixture(scope="session", name="dovecot")
def dovecot_server() -> Iterator[Dovecot]:
    """One Dovecot for the whole session (imap with STARTTLS, and imaps)."""
    if not DOVECOT.exists():
        pytest.fail(
            f"{DOVECOT} is missing: the IMAP tests need a real Dovecot; install it with "
            "`sudo apt-get install dovecot-imapd` (or run .ci/system-deps.sh)"
        )
    version = subprocess.run([DOVECOT, "--version"], capture_output=True, text=True).stdout
    if not version.startswith("2.3."):
        pytest.fail(
            f"Dovecot {version.strip()} found; tests/imap_server.py writes a Dovecot 2.3 config "
            "(2.4 renamed most settings): add a 2.4 variant of CONFIG"
        )
    # Not tmp_path_factory: its directories are private to us (0700), and Dovecot's mail
    # and login processes run as other users that must reach the mail and socket dirs.
    root = Path(tempfile.mkdtemp(prefix="reportcycle-dovecot-"))
    try:
        root.chmod(0o755)
        yield from _run_dovecot(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _run_dovecot(root: Path) -> Iterator[Dovecot]:
    imap_port, imaps_port = free_ports(2)
    server = Dovecot(root, imap_port, imaps_port)
    _make_certificate(root)
    _write_config(root, server.imap_port, server.imaps_port)
    with (root / "dovecot.out").open("wb") as out:  # what it says before its log is open
        process = subprocess.Popen(
            [DOVECOT, "-F", "-c", server.config], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        _wait_ready(server, process)
        yield server
    finally:
        process.terminate()  # the master stops its children
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(name="imap")
def imap_mailbox(dovecot: Dovecot) -> Dovecot:
    """The session's Dovecot with an empty mailbox: no messages, only INBOX."""
    dovecot.reset_mailbox()
    return dovecot
