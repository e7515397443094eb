"""Settings: one pydantic-settings class, read through a cached `get_settings()`.

Every value comes from the environment (prefix ``REPORTCYCLE_``) or a ``.env`` file; nothing is
read at import time, so tests override settings by setting variables and clearing the cache.
"""

from __future__ import annotations

from datetime import time
from functools import lru_cache
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class SmtpTarget:
    """A parsed outgoing-mail URL: ``smtp://user:pass@host:port`` or ``smtps://…``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"smtp", "smtps"}:
            raise ValueError(f"outgoing mail URL must start with smtp:// or smtps://, got {url!r}")
        if not parts.hostname:
            raise ValueError(f"outgoing mail URL has no host: {url!r}")
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REPORTCYCLE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    environment: Literal["development", "test", "production"] = "development"
    home: Path = Path("var")
    reports_url: str | None = Field(
        default=None,
        description="base URL of `reportcycle files serve` (http://127.0.0.1:8766): the report "
        "artifact links the DOCX and PDF there; unset = the artifact shows their paths",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file reportcycle.db in home"
    )
    smtp_url: str | None = Field(
        default=None,
        description="smtp://user:pass@host:587 or smtps://…:465; unset = embedded local server",
    )
    smtp_starttls: bool = Field(default=False, description="issue STARTTLS on smtp:// URLs")
    smtp_timeout: float = 30.0
    smtp_validate_certs: bool = True
    smtp_connections: int = Field(default=4, ge=1, le=16, description="parallel connections")
    mail_from: str = "Văn phòng UBND tỉnh <thnc@example.org>"
    reply_domain: str = Field(
        default="example.org", description="domain of the reply mailbox (plus-addressed)"
    )
    reply_local_part: str = "baocao"
    secretariat_email: str | None = Field(
        default=None, description="where review notices and digests go; default: mail_from"
    )
    secret_key: str = DEV_SECRET
    send_batch_size: int = Field(default=200, ge=1)
    send_retry_delays: list[float] = Field(default_factory=lambda: [1.0, 5.0, 30.0])
    sending_lease_seconds: int = Field(
        default=600, ge=1, description="a row 'sending' longer than this is resolved on restart"
    )
    sent_folder_url: str | None = Field(
        default=None,
        description="imaps://user:pass@host:993/Sent where the relay keeps what it sent; "
        "a crash's message in doubt is looked up there by Message-ID",
    )

    inbox_url: str | None = Field(
        default=None,
        description="imap://user:pass@host:143/INBOX or imaps://…:993/INBOX; unset = Maildir",
    )
    imap_starttls: bool = Field(default=True, description="STARTTLS on imap:// (refuse if absent)")
    imap_validate_certs: bool = True
    imap_cafile: Path | None = Field(default=None, description="CA bundle for a private CA")
    imap_processed: Literal["flag", "move"] = Field(
        default="flag", description="after the outcome is committed: flag \\Seen, or move"
    )
    imap_processed_folder: str = "Reportcycle/Processed"
    imap_timeout: float = 60.0
    collect_batch_size: int = Field(default=200, ge=1)
    office_start: time = Field(default=time(7, 30), description="reminders go out from …")
    office_end: time = Field(default=time(17, 0), description="… until, Asia/Ho_Chi_Minh")
    max_attachment_bytes: int = Field(default=20 * 2**20, ge=1024)
    signing_key: Path | None = Field(
        default=None, description="PKCS#12 (.p12) key that signs the final PDF; unset = unsigned"
    )
    signing_passphrase: str | None = Field(default=None, description="the .p12's passphrase")

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @model_validator(mode="after")
    def _refuse_placeholder_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEV_SECRET:
            raise ValueError(
                "REPORTCYCLE_SECRET_KEY is the development placeholder; set a long random "
                "value (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if self.smtp_url is not None:
            SmtpTarget(self.smtp_url)
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'reportcycle.db'}"

    @property
    def smtp(self) -> SmtpTarget | None:
        return SmtpTarget(self.smtp_url) if self.smtp_url else None

    @property
    def mail_dir(self) -> Path:
        return self.home / "mail"

    @property
    def sent_maildir(self) -> Path:
        return self.mail_dir / "sent"

    @property
    def secretariat_address(self) -> str:
        return self.secretariat_email or self.mail_from

    @property
    def inbox_maildir(self) -> Path:
        return self.mail_dir / "inbox"

    @property
    def output_dir(self) -> Path:
        return self.home / "output"


@lru_cache
def get_settings() -> Settings:
    return Settings()
