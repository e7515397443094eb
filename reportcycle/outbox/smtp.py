"""Mail out: a small transport interface, its SMTP implementation, and the choice between a
configured relay and the embedded local server (DESIGN §3, STYLE "external systems")."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import email.policy
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import getaddresses
from pathlib import Path
from typing import Literal, Protocol

import aiosmtplib

from models.settings import Settings
from reportcycle.outbox.local_server import (
    LocalMailServer,
    maildir_message_ids,
    normalize_message_id,
)

Outcome = Literal["sent", "retry", "failed"]


@dataclass(frozen=True)
class OutgoingMail:
    id: int
    sender: str
    recipients: list[str]
    raw: bytes
    message_id: str


@dataclass(frozen=True)
class SendResult:
    id: int
    outcome: Outcome
    detail: str  # the server's code and words, e.g. "550 5.1.1 <x@example.org>: user unknown"


class SendJournal(Protocol):
    """Who the transport tells, message by message, so that a crash loses at most one."""

    def attempt(self, mail: OutgoingMail, answered: SendResult | None = None) -> bool:
        """Durably note that `mail` is about to go out, with the answer to the message before
        it on this connection (`answered`), in one commit; False: `mail` is no longer ours,
        skip it (the answer is recorded all the same)."""
        ...

    def done(self, result: SendResult) -> None:
        """The server's answer for the last message a connection sent."""
        ...


class MailTransport(Protocol):
    async def send(
        self, messages: Sequence[OutgoingMail], journal: SendJournal | None = None
    ) -> list[SendResult]:
        """Send a batch over one connection; one result per message sent or refused, in order
        (a message the journal says is no longer ours has none)."""
        ...

    def delivered_message_ids(self, message_ids: Collection[str]) -> set[str] | None:
        """Which of these Message-IDs reached the server; None if this transport cannot tell."""
        ...


def _addr_specs(message: EmailMessage, *names: str) -> list[str]:
    found: list[str] = []
    for name in names:
        for header in message.get_all(name, []):
            addresses = getattr(header, "addresses", None)  # None under the compat32 policy
            specs = (
                [a.addr_spec for a in addresses]
                if addresses is not None
                else [spec for _, spec in getaddresses([str(header)])]
            )
            if not all(specs):
                raise ValueError(f"cannot read an address in {name}: {header!s}")
            found.extend(s for s in specs if s not in found)
    return found


def wire_form(message: EmailMessage) -> tuple[str, list[str], bytes]:
    """The envelope sender, the envelope recipients (To, Cc, Bcc) and the bytes to send."""
    senders = _addr_specs(message, "From")
    recipients = _addr_specs(message, "To", "Cc", "Bcc")
    if not senders or not recipients:
        raise ValueError("a message needs a From address and at least one recipient")
    if message["Bcc"] is not None:  # Bcc travels in the envelope only
        message = copy.deepcopy(message)
        del message["Bcc"]
    # SMTP policy: CRLF; non-ASCII headers as RFC 2047 (filenames RFC 2231), which any relay
    # takes, unlike raw UTF-8 headers (SMTPUTF8); bodies may stay 8bit (sent as BODY=8BITMIME).
    return senders[0], recipients, message.as_bytes(policy=email.policy.SMTP)


class _ConnectionLost(Exception):
    """The connection is gone: this message and the rest of the batch wait for a retry."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _words(exc: aiosmtplib.SMTPResponseException) -> str:
    return f"{exc.code} {exc.message}".strip()


def _refusal(recipient: str, code: int, message: str) -> str:
    words = f"{code} {message}".strip()
    # Most servers name the address in their words already ("550 5.1.1 <x@…>: user unknown").
    return words if recipient in message else f"{recipient}: {words}"


def _mail_options(client: aiosmtplib.SMTP, mail: OutgoingMail) -> list[str]:
    options = []
    if not mail.raw.isascii() and client.supports_extension("8bitmime"):
        options.append("BODY=8BITMIME")
    if not all(address.isascii() for address in [mail.sender, *mail.recipients]):
        options.append("SMTPUTF8")
    return options


async def _send_one(client: aiosmtplib.SMTP, mail: OutgoingMail) -> SendResult:
    """Send one message; raises _ConnectionLost when the rest of the batch cannot go."""
    try:
        refused, _ = await client.sendmail(
            mail.sender, mail.recipients, mail.raw, mail_options=_mail_options(client, mail)
        )
    except aiosmtplib.SMTPRecipientsRefused as exc:
        # Every recipient refused: permanent only if every refusal is; 4xx (greylisting,
        # mailbox busy) is worth another try.
        permanent = all(r.code >= 500 for r in exc.recipients)
        words = "; ".join(_refusal(r.recipient, r.code, r.message) for r in exc.recipients)
        return SendResult(mail.id, "failed" if permanent else "retry", words)
    except aiosmtplib.SMTPResponseException as exc:
        if exc.code == 421:  # the server is closing the channel; aiosmtplib closed it too
            raise _ConnectionLost(_words(exc)) from exc
        return SendResult(mail.id, "failed" if exc.code >= 500 else "retry", _words(exc))
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError, OSError) as exc:
        raise _ConnectionLost(f"connection lost: {exc}") from exc
    except (aiosmtplib.SMTPNotSupported, ValueError) as exc:
        # SMTPUTF8 address on a server without it, or an address aiosmtplib refuses to send.
        return SendResult(mail.id, "failed", str(exc))
    if refused:
        # Delivered to the accepted recipients; the refusals are kept for the status page.
        words = "; ".join(_refusal(a, r.code, r.message) for a, r in refused.items())
        return SendResult(mail.id, "sent", f"refused some recipients: {words}")
    return SendResult(mail.id, "sent", "")


class SmtpTransport:
    """aiosmtplib, one connection per batch."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        implicit_tls: bool = False,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout: float = 30.0,
        validate_certs: bool = True,
        maildir_for_lookup: Path | None = None,
        sent_lookup: Callable[[Collection[str]], set[str] | None] | None = None,
        connections: int = 1,
    ) -> None:
        self.host = host
        self.connections = max(1, connections)
        self.port = port
        self.implicit_tls = implicit_tls
        self.starttls = starttls and not implicit_tls
        self.username = username
        self.password = password
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.maildir_for_lookup = maildir_for_lookup
        self.sent_lookup = sent_lookup  # e.g. the relay's sent folder over IMAP

    def _client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            use_tls=self.implicit_tls,
            start_tls=self.starttls,  # never None: no silent opportunistic upgrade
            username=self.username,
            password=self.password,
            timeout=self.timeout,
            validate_certs=self.validate_certs,
        )

    async def _connect(self, client: aiosmtplib.SMTP) -> str | None:
        """Connect, greet, log in; the error's words if that failed."""
        try:
            await client.connect()
            if client.is_ehlo_or_helo_needed:
                await client.ehlo()  # before sendmail, so 8BITMIME support is known
        except aiosmtplib.SMTPResponseException as exc:
            # A refusal here (421 busy, 554 no service, 535 bad login) is about the
            # connection, not the messages: retry them, and show the words.
            return _words(exc)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return f"cannot connect to {self.host}:{self.port}: {exc}"
        return None

    async def send(
        self, messages: Sequence[OutgoingMail], journal: SendJournal | None = None
    ) -> list[SendResult]:
        """Send over up to `connections` parallel connections; results in input order.

        One connection waits on a round trip per message; a few in parallel keep both the
        client and the server busy (DESIGN §9: ~130/s on one, ~185/s on four).
        """
        count = min(self.connections, len(messages))
        if count <= 1:
            return await self._send_over_one(messages, journal)
        shares = [messages[i::count] for i in range(count)]
        done = await asyncio.gather(*(self._send_over_one(share, journal) for share in shares))
        by_id = {r.id: r for results in done for r in results}
        return [by_id[m.id] for m in messages if m.id in by_id]

    async def _send_over_one(
        self, messages: Sequence[OutgoingMail], journal: SendJournal | None
    ) -> list[SendResult]:
        if not messages:
            return []
        client = self._client()
        problem = await self._connect(client)
        if problem is not None:
            client.close()
            return [SendResult(m.id, "retry", problem) for m in messages]
        results: list[SendResult] = []
        answered: SendResult | None = None  # the last answer, not yet given to the journal
        position = 0
        try:
            for position, mail in enumerate(messages):  # noqa: B007 (read after a loss)
                ours = journal is None or journal.attempt(mail, answered)
                answered = None
                if not ours:
                    continue
                result = await _send_one(client, mail)
                results.append(result)
                answered = result
            if journal is not None and answered is not None:
                journal.done(answered)
        except _ConnectionLost as lost:
            # This message and the rest wait for a retry (the one in flight was attempted).
            results.extend(SendResult(m.id, "retry", lost.detail) for m in messages[position:])
        finally:
            await _quit(client)
        return results

    def delivered_message_ids(self, message_ids: Collection[str]) -> set[str] | None:
        wanted = {normalize_message_id(m) for m in message_ids}
        if self.maildir_for_lookup is not None:
            return wanted & maildir_message_ids(self.maildir_for_lookup)
        if self.sent_lookup is not None:
            return self.sent_lookup(wanted)
        return None


async def _quit(client: aiosmtplib.SMTP) -> None:
    # Everything that got its 250 is delivered whatever QUIT answers.
    if client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    else:
        client.close()


@contextlib.contextmanager
def open_transport(settings: Settings) -> Iterator[MailTransport]:
    """The configured relay, or (no smtp_url) the embedded server writing to sent_maildir."""
    target = settings.smtp
    if target is None:
        with LocalMailServer(settings.sent_maildir) as server:
            yield SmtpTransport(
                server.host,
                server.port,
                timeout=settings.smtp_timeout,
                maildir_for_lookup=server.maildir,
                connections=settings.smtp_connections,
            )
        return
    sent = None
    if settings.sent_folder_url:
        from reportcycle.outbox.sent_folder import ImapSentFolder

        sent = ImapSentFolder(
            settings.sent_folder_url,
            starttls=settings.imap_starttls,
            validate_certs=settings.imap_validate_certs,
            cafile=settings.imap_cafile,
            timeout=settings.imap_timeout,
        ).message_ids
    yield SmtpTransport(
        target.host,
        target.port,
        sent_lookup=sent,
        implicit_tls=target.implicit_tls,
        starttls=settings.smtp_starttls,
        username=target.username,
        password=target.password,
        timeout=settings.smtp_timeout,
        validate_certs=settings.smtp_validate_certs,
        connections=settings.smtp_connections,
    )
