"""The mail source the settings name: a Maildir path or an IMAP URL."""

from __future__ import annotations

from urllib.parse import urlsplit

from models.settings import Settings
from reportcycle.inbox.imap import ImapSource
from reportcycle.inbox.mailbox import MailSource
from reportcycle.inbox.maildir import MaildirSource


def source_from_settings(settings: Settings) -> MailSource:
    """The configured source: IMAP when REPORTCYCLE_INBOX_URL is set, else the local Maildir."""
    url = settings.inbox_url
    if not url:
        return MaildirSource(settings.inbox_maildir)
    scheme = urlsplit(url).scheme
    if scheme not in {"imap", "imaps"}:
        raise ValueError(  # not the URL itself: it may hold a password
            "REPORTCYCLE_INBOX_URL must be imap://user:password@host:143/INBOX or "
            "imaps://user:password@host:993/INBOX (or unset, for the local Maildir "
            f"{settings.inbox_maildir}); got a {scheme or 'scheme-less'} URL"
        )
    return ImapSource(
        url,
        starttls=settings.imap_starttls,
        validate_certs=settings.imap_validate_certs,
        cafile=settings.imap_cafile,
        processed=settings.imap_processed,
        processed_folder=settings.imap_processed_folder,
        timeout=settings.imap_timeout,
        db_url=settings.db_url,
    )
