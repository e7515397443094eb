"""Small builders shared by the tests."""

from __future__ import annotations

import email
import email.policy
import mailbox
from email.message import EmailMessage
from pathlib import Path


def maildir_messages(path: Path) -> list[EmailMessage]:
    """Every message in a Maildir, parsed with the modern policy, in no particular order."""
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    out = []
    for key in box.keys():
        with box.get_file(key) as handle:
            parsed = email.message_from_binary_file(handle, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        out.append(parsed)
    return out


def attachments(message: EmailMessage) -> list[tuple[str, bytes]]:
    found = []
    for part in message.iter_attachments():
        assert isinstance(part, EmailMessage)
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        found.append((part.get_filename() or "", payload))
    return found
