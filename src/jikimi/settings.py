"""Typed settings: every setting has a default, a help text and bounds.

Sources, strongest first: environment (``JIKIMI_<NAME>``), the workspace's ``settings.toml``,
the defaults below. ``jikimi init`` writes the file with every setting and its help.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from jikimi.errors import SettingsError

SETTINGS_FILE = "settings.toml"


def default_home() -> Path:
    return Path(os.environ.get("JIKIMI_HOME") or Path.home() / ".jikimi").expanduser()


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JIKIMI_", extra="forbid")

    home: Path = Field(default_factory=default_home, description="Workspace folder.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the store; empty means SQLite at HOME/jikimi.db.",
    )
    operator: str = Field(
        default_factory=lambda: os.environ.get("USER") or "unknown",
        description="Who runs the commands; recorded in custody events.",
    )
    max_file_bytes: int = Field(
        default=2 * 1024**3, ge=1, description="Largest file hashed, in bytes."
    )
    max_image_pixels: int = Field(
        default=100_000_000,
        ge=1,
        le=2_000_000_000,
        description="Largest image decoded, in pixels (guards against decompression bombs).",
    )
    max_video_seconds: float = Field(
        default=4 * 3600, gt=0, description="Longest video hashed, in seconds."
    )
    vpdq_seconds_per_hash: float = Field(
        default=1.0, gt=0, le=60, description="vPDQ samples one frame per this many seconds."
    )
    pdq_min_quality: int = Field(
        default=50, ge=0, le=100, description="PDQ hashes below this quality are not kept."
    )
    pdq_threshold: int = Field(
        default=31, ge=0, le=64, description="Default PDQ match distance of a new bank."
    )
    disabled_signals: list[str] = Field(
        default_factory=list,
        description="Extractors never to run, by name (e.g. faces); hashes always run.",
    )
    cascade_skin_threshold: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="The nudity model runs only on media with at least this share of skin "
        "pixels (0 runs it on every media).",
    )
    cascade_face_threshold: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="Faces are detected only on media whose nudity score reaches this.",
    )
    face_match_threshold: float = Field(
        default=0.5,
        gt=0,
        lt=2,
        description="A face matches a protected person within this template distance "
        "(calibrated in docs/benchmarks.md).",
    )
    nudity_batch_size: int = Field(
        default=16, ge=1, le=256, description="Images per nudity model batch."
    )
    face_upsample: int = Field(
        default=1, ge=0, le=3, description="Times the face detector upsamples (finds small faces)."
    )
    watermark_min_bits: int = Field(
        default=44,
        ge=24,
        le=48,
        description="Bits of the 48-bit Stable Diffusion watermark that must agree to report it.",
    )
    context_lexicon_dir: Path | None = Field(
        default=None,
        description="Folder of extra context lexicons (*.yaml) added to the shipped ones.",
    )
    synthetic_model: Path | None = Field(
        default=None,
        description="Manifest (YAML) of an optional ONNX synthetic-image detector; off if empty.",
    )
    keep_media: bool = Field(
        default=False,
        description="Keep an encrypted copy of scanned media in the vault (default hash-only).",
    )
    evidence_minor_media: bool = Field(
        default=False,
        description="Put media that may show a minor into evidence packages (default: hashes and "
        "locators only; the vault copy stays for a request through the proper channel).",
    )
    media_retention_days: int | None = Field(
        default=None,
        ge=1,
        description="Kept media last seen more than this many days ago are purged from the "
        "vault by `jikimi retention purge` (open cases and preservation holds keep theirs); "
        "empty means kept media are never purged automatically.",
    )
    # -- the service (jikimi serve) ------------------------------------------------------------
    policy_file: Path | None = Field(
        default=None,
        description="Policy rules (YAML); empty means the shipped default policy.",
    )
    deadline_profiles: Path | None = Field(
        default=None,
        description="Deadline profiles (YAML) per jurisdiction and notice kind; empty means the "
        "shipped ones (docs/cases.md).",
    )
    console_session_hours: float = Field(
        default=12.0, gt=0, le=720, description="A console sign-in lasts at most this long."
    )
    console_idle_minutes: float = Field(
        default=30.0, gt=0, le=1440, description="A console sign-in idle this long ends."
    )
    console_secure_cookies: Literal["auto", "always", "never"] = Field(
        default="auto",
        description="Secure flag on console cookies: auto sets it when the request came over "
        "HTTPS (behind a proxy, run uvicorn with --proxy-headers).",
    )
    report_per_hour: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Public takedown form submissions accepted per address per hour.",
    )
    report_max_bytes: int = Field(
        default=20 * 1024 * 1024,
        ge=1024,
        description="Largest public takedown form submission (a picture included), in bytes.",
    )
    near_duplicate_threshold: int = Field(
        default=31,
        ge=0,
        le=64,
        description="PDQ distance up to which an item resembling removed media is put before a "
        "reviewer as a task in the case (docs/cases.md).",
    )
    policy_reload_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description="How often the service looks for a changed policy file (0: never).",
    )
    max_upload_bytes: int = Field(
        default=50 * 1024**2,
        ge=1024,
        description="Largest request body the API accepts, in bytes (uploads included).",
    )
    export_max_upload_bytes: int = Field(
        default=2 * 1024**3,
        ge=1024,
        description="Largest zipped Telegram export POST /v1/exports accepts, in bytes.",
    )
    export_max_unpacked_bytes: int = Field(
        default=8 * 1024**3,
        ge=1024,
        description="Most bytes an uploaded export zip may unpack to (each entry and all "
        "together, counted as written).",
    )
    export_max_entries: int = Field(
        default=500_000,
        ge=1,
        description="Most entries (files and folders) an uploaded export zip may hold.",
    )
    check_fast_hash: bool = Field(
        default=True,
        description="POST /v1/check hashes a downscaled decode (within a few bits of exact PDQ, "
        "see docs/benchmarks.md); false hashes exactly.",
    )
    check_signals: Literal["cascade", "hashes"] = Field(
        default="cascade",
        description="What POST /v1/check computes: the cascade (hashes, then models where they "
        "can change the outcome) or hashes and matching only (fastest).",
    )
    serve_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="Server processes of jikimi serve (each loads the indexes).",
    )
    check_threads: int = Field(
        default=0,
        ge=0,
        le=256,
        description="Checks and items analysed at once per process (0: the CPU cores shared "
        "out among serve_workers); more wait their turn, so an overload does not thrash.",
    )
    login_max_failures: int = Field(
        default=5, ge=1, le=100, description="Failed logins in a row before a user is locked."
    )
    login_lockout_seconds: int = Field(
        default=300, ge=1, description="How long a locked user must wait, in seconds."
    )
    token_days: int = Field(
        default=90, ge=1, le=3650, description="Lifetime of a new API token, in days."
    )
    actions_mode: Literal["dry_run", "live"] = Field(
        default="dry_run",
        description="dry_run records what would have been done; live delivers to the sinks.",
    )
    webhook_url: str | None = Field(
        default=None, description="The platform's webhook for verdicts and actions; off if empty."
    )
    webhook_secret: SecretStr | None = Field(
        default=None, description="HMAC-SHA256 key that signs webhook deliveries (never logged)."
    )
    telegram_bot_token: SecretStr | None = Field(
        default=None, description="Bot API token for Telegram actions (never logged)."
    )
    telegram_api_url: str = Field(
        default="https://api.telegram.org", description="Base URL of the Telegram Bot API."
    )
    telegram_poll_seconds: int = Field(
        default=30,
        ge=0,
        le=50,
        description="Long-polling timeout of the bot's getUpdates, in seconds (0: short polls).",
    )
    telegram_max_download_bytes: int = Field(
        default=20 * 1024**2,
        ge=1,
        le=2 * 1024**3,
        description="Largest file the bot downloads; the Bot API serves at most 20 MB (a local "
        "Bot API server more). Larger files are recorded by file id alone.",
    )
    telegram_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token to the bot's "
        "webhook (never logged); needed by `jikimi telegram-bot --webhook`.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="Mail server for notifications to notifiers (receipts, outcomes); off if "
        "empty.",
    )
    smtp_port: int = Field(
        default=587, ge=1, le=65535, description="Mail server port (587 STARTTLS, 465 SSL)."
    )
    smtp_security: Literal["starttls", "ssl", "none"] = Field(
        default="starttls",
        description="starttls upgrades the connection, ssl is TLS from the start, none is for a "
        "local relay only (no password is sent in the clear over a network).",
    )
    smtp_username: str | None = Field(
        default=None, description="Login at the mail server; no login if empty."
    )
    smtp_password: SecretStr | None = Field(
        default=None, description="Password for smtp_username (never logged)."
    )
    smtp_from: str | None = Field(
        default=None,
        description="Sender address of notifications (From); required when smtp_host is set.",
    )
    smtp_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait for the mail server, in seconds."
    )
    notify_webhook_url: str | None = Field(
        default=None,
        description="The platform's webhook that sends notifications itself, when there is no "
        "mail server; off if empty.",
    )
    notify_webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key that signs notify webhook deliveries (never logged).",
    )
    appeal_url: str | None = Field(
        default=None,
        description="Public URL where notifiers appeal, named in outcome messages ({case_id} is "
        "filled in); empty means /v1/cases/<id>/appeals.",
    )
    uploader_statements: Literal["law", "always", "never"] = Field(
        default="law",
        description="Send statements of reasons to uploaders: law where the law asks (DSA "
        "Art. 17, EU), always, or never.",
    )
    outbox_max_attempts: int = Field(
        default=8, ge=1, le=100, description="Delivery attempts before an effect is dead."
    )
    outbox_backoff_seconds: float = Field(
        default=2.0, gt=0, le=3600, description="First retry delay; doubles on each attempt."
    )
    outbox_backoff_max_seconds: float = Field(
        default=3600.0, gt=0, description="Longest delay between two delivery attempts."
    )
    outbox_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="A claimed effect not finished within this is delivered again (crash).",
    )
    # -- time-stamps and custody anchors (docs/evidence.md) -------------------------------------
    tsa_urls: list[str] = Field(
        default_factory=list,
        description="RFC 3161 time-stamp authorities asked to sign evidence manifests and "
        "custody anchors; empty means nothing is time-stamped and the log is not anchored.",
    )
    tsa_certificates: Path | None = Field(
        default=None,
        description="PEM bundle of the TSAs' root certificates that time-stamp tokens are "
        "verified against (offline); empty means tokens cannot be verified.",
    )
    tsa_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Longest wait for one time-stamp authority."
    )
    custody_anchor_minutes: float = Field(
        default=60.0,
        ge=0,
        le=10_080,
        description="The service anchors the custody log (a time-stamped Merkle root over the "
        "new events) this often, when tsa_urls is set; 0 never.",
    )
    dsa_tdb_url: str = Field(
        default="https://transparency.dsa.ec.europa.eu",
        description="Base URL of the DSA Transparency Database API (production); set the "
        "sandbox URL your Digital Services Coordinator gave you to test.",
    )
    dsa_tdb_token: SecretStr | None = Field(
        default=None,
        description="Bearer token of the DSA Transparency Database API; never logged.",
    )
    dsa_tdb_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Longest wait for the Transparency Database."
    )
    korean_font: Path | None = Field(
        default=None,
        description="TrueType font with Hangul for PDF reports; empty looks for Debian's "
        "fonts-nanum (NanumGothic).",
    )
    ncmec_url: str = Field(
        default="https://exttest.cybertip.org/ispws",
        description="Base URL of NCMEC's CyberTipline Reporting API: the test environment by "
        "default; https://report.cybertip.org/ispws reports for real.",
    )
    ncmec_username: str | None = Field(
        default=None, description="CyberTipline Reporting API user name (from NCMEC)."
    )
    ncmec_password: SecretStr | None = Field(
        default=None, description="CyberTipline Reporting API password (never logged)."
    )
    ncmec_reporter_email: str | None = Field(
        default=None,
        description="Email of the reporting person named in CyberTipline reports (required by "
        "NCMEC to send one).",
    )
    ncmec_timeout_seconds: float = Field(
        default=60.0, gt=0, le=600, description="Longest wait for one CyberTipline API call."
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_file = default_home() / SETTINGS_FILE
        return (
            init_settings,
            env_settings,
            TomlConfigSettingsSource(settings_cls, toml_file=toml_file),
        )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'jikimi.db'}"


def load_settings(**overrides: object) -> Settings:
    """Settings from environment, file and defaults; a bad value raises :class:`SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(
            f"invalid settings ({problems}); fix {default_home() / SETTINGS_FILE} "
            "or the JIKIMI_* environment variables"
        ) from exc


def render_settings_file(settings: Settings) -> str:
    """The settings file ``jikimi init`` writes: every setting, its help, its value."""
    lines = ["# Jikimi workspace settings. Environment variables JIKIMI_<NAME> override these.", ""]
    for name, field in Settings.model_fields.items():
        if name == "home":
            continue
        value = getattr(settings, name)
        lines.append(f"# {field.description}")
        if value is None:
            lines.append(f"# {name} = ")
        elif isinstance(value, bool):
            lines.append(f"{name} = {'true' if value else 'false'}")
        elif isinstance(value, int | float):
            lines.append(f"{name} = {value}")
        elif isinstance(value, list):
            lines.append(f"{name} = {json.dumps([str(v) for v in value])}")
        else:
            lines.append(f'{name} = "{value}"')
        lines.append("")
    return "\n".join(lines)
