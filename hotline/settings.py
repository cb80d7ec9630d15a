"""All settings of the hotline, read from the environment (prefix ``HOTLINE_``) and validated.

Settings are built once, in a composition root (`hotline.cli`, `api.create_app`), and passed down;
nothing else reads the environment. Default secrets are refused outside development.

Province, hotline number, menus and administrative units are configuration (``dialplans/``),
never code.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from hotline.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent

DEV_AMI_SECRET = "dev-ami-secret"
DEV_API_SECRET = "dev-api-secret-change-me"
DEV_DB_PASSWORD = "hotline-dev"


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class Settings(BaseSettings):
    """Every knob of the service. Environment variable = ``HOTLINE_`` + field name, upper case."""

    model_config = SettingsConfigDict(env_prefix="HOTLINE_", extra="ignore", frozen=True)

    # --- general -----------------------------------------------------------------------------
    env: Environment = Environment.DEVELOPMENT
    log_level: str = "INFO"
    state_dir: Path = REPO_ROOT / "var"
    dialplans_dir: Path = REPO_ROOT / "dialplans"
    hotline_number: str = "19009120"

    # --- local Asterisk (ivr/pbx) -----------------------------------------------------------
    asterisk_chroot: Path | None = None  # default: state_dir / "asterisk-root"
    asterisk_cache_dir: Path = Path.home() / ".cache" / "hotline"
    debian_mirror: str = ""  # default: the host's apt mirror
    ami_host: str = "127.0.0.1"
    ami_port: int = 5038
    ami_user: str = "hotline"
    ami_secret: str = DEV_AMI_SECRET
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_port_start: int = 10000
    rtp_port_end: int = 10999
    audiosocket_host: str = "127.0.0.1"
    audiosocket_port: int = 9092
    listen_backend: str = "audiosocket"  # "audiosocket" (live, barge-in) or "record" (fallback)
    agent_queue: str = "hotline-agents"
    agent_phones: str = ""  # agents' SIP phones on 127.0.0.1, "agent-101@5071,agent-102@5072"
    asterisk_prompts_dir: str = "/var/lib/hotline/prompts"  # prompts_dir as Asterisk sees it

    # --- call handling (ivr) ----------------------------------------------------------------
    menu_file: str = "menu.yaml"
    transfer_after_failures: bool = False
    digit_timeout_ms: int = Field(default=5000, ge=500)
    record_max_s: int = Field(default=120, ge=5, le=600)  # longest complaint recording
    answer_silence_s: float = Field(default=0.6, ge=0.3, le=3.0)  # pause ending a short answer
    description_silence_s: float = Field(default=1.5, ge=0.5, le=5.0)  # pause ending a description

    # --- databases (cases) --------------------------------------------------------------------
    database_url: str = ""  # default: sqlite:///state_dir/hotline.db
    ioc_database_url: str = ""  # default: sqlite:///state_dir/ioc.db
    sync_interval_s: float = Field(default=2.0, gt=0)

    # --- API (api) ----------------------------------------------------------------------------
    api_host: str = "127.0.0.1"
    api_port: int = 8080
    api_secret: str = DEV_API_SECRET
    token_ttl_s: int = Field(default=8 * 3600, gt=0)
    recordings_dir: Path | None = None  # default: state_dir / "recordings" (Asterisk writes)

    # --- e-service directory (cases.dossiers) -------------------------------------------------
    dossier_source: str = "sql"  # "sql" or "http"
    dossier_http_url: str = ""
    dossier_http_token: str = ""

    # --- speech -----------------------------------------------------------------------------
    tts_backend: str = "espeak"  # "espeak" or "gtts"
    recorded_prompts_dir: Path | None = None  # default: dialplans_dir / "recorded"
    prompts_dir: Path | None = None  # default: state_dir / "prompts"
    asr_engine: str = "whisper"  # "whisper" or "vosk"
    whisper_model_dir: Path | None = None  # default: the packaged Whisper base, joined in cache
    whisper_window: str = "fit"  # "fit" (short turns: encoder window fitted) or "full" (30 s)
    vosk_model_dir: Path | None = None
    models_dir: Path = Path.home() / ".cache" / "hotline" / "models"  # joined/fetched models
    speech_workers: int = 0  # 0 = number of cores

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Settings:
        if self.env is Environment.PRODUCTION:
            defaults = {
                "HOTLINE_AMI_SECRET": self.ami_secret == DEV_AMI_SECRET,
                "HOTLINE_API_SECRET": self.api_secret == DEV_API_SECRET,
                "HOTLINE_DATABASE_URL": DEV_DB_PASSWORD in self.database_url,
            }
            bad = [name for name, is_default in defaults.items() if is_default]
            if bad:
                raise ValueError(
                    "default secrets are refused outside development; set " + ", ".join(bad)
                )
            if len(self.ami_secret) < 12:
                raise ValueError("HOTLINE_AMI_SECRET is too short (12 characters at least)")
        return self

    # --- derived paths --------------------------------------------------------------------------
    @property
    def chroot_dir(self) -> Path:
        return self.asterisk_chroot or self.state_dir / "asterisk-root"

    @property
    def prompts_path(self) -> Path:
        return self.prompts_dir or self.state_dir / "prompts"

    @property
    def recorded_prompts_path(self) -> Path:
        return self.recorded_prompts_dir or self.dialplans_dir / "recorded"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.state_dir / 'hotline.db'}"

    @property
    def ioc_db_url(self) -> str:
        return self.ioc_database_url or f"sqlite:///{self.state_dir / 'ioc.db'}"

    @property
    def workers(self) -> int:
        import os

        return self.speech_workers or os.cpu_count() or 1


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment; a bad value is a ConfigError naming the variable."""
    from pydantic import ValidationError

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"HOTLINE_{'_'.join(str(p) for p in err['loc']).upper() or 'SETTINGS'}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from exc
