"""Settings, read once from the environment (and an optional .env file)."""

from functools import lru_cache

from pydantic import AliasChoices, Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "dev-only-secret-change-me"


class Settings(BaseSettings):
    """Runtime configuration; every field can be set as SURVEY_API_<NAME>."""

    model_config = SettingsConfigDict(env_prefix="SURVEY_API_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///./survey_api.sqlite",
        validation_alias=AliasChoices("DATABASE_URL", "SURVEY_API_DATABASE_URL"),
        description="SQLAlchemy URL; postgresql://user:pw@host/db for production.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET),
        description="Keys invitation-code hashes and share links and encrypts webhook signing "
        "secrets; must be the same on every host. After changing it, rotate each webhook "
        "subscription's secret (the dispatcher disables those it cannot decrypt).",
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Base of the links printed on invitation letters and share links.",
    )
    max_body_bytes: int = Field(default=2_000_000, description="Request bodies above this get 413.")
    max_import_bytes: int = Field(
        default=200_000_000,
        description="The limit instead for files of past surveys and classifications sent to "
        "the import endpoints (POST /rounds/{id}/imports, /rounds/{id}/tallies/import, "
        "/areas/classifications/import and the console's import pages); they are streamed to "
        "a temporary file, not held in memory.",
    )
    form_link_answer_limit: str = Field(
        default="20/hour",
        description="Answers one client may send through one round's area links, per process "
        "(the `limits` notation: '20/hour', '50 per day'). Keep it generous: a tenants' "
        "meeting on one Wi-Fi, or a mobile operator's shared address, is one client.",
    )
    form_code_attempt_limit: str = Field(
        default="30/minute",
        description="Codes one client may type in on the code page, per process.",
    )
    fold_interval_seconds: float = Field(
        default=2.0,
        ge=0,
        description="How often each process folds rounds' new responses into their tallies in "
        "the background and warms their results, so reads rarely fold (0: only reads fold).",
    )
    results_cache_bytes: int = Field(
        default=16_000_000,
        ge=0,
        description="Bytes of serialised round results each process keeps to answer repeated "
        "reads of an unchanged round without rebuilding them, least recently read dropped "
        "first. A whole round of 50 areas is about 1.1 MB (with a breakdown about 4 MB): the "
        "default keeps the last dozen or so, and a worker that has read every round of an "
        "organisation stays under 150 MB. 0 turns the cache off.",
    )
    webhook_results_interval_days: int = Field(
        default=1,
        ge=1,
        le=366,
        description="results.updated counts a round's responses by whole Swedish dates (a "
        "response is dated, never timed) and is sent after midnight at most once per round in "
        "this many days: 1 after any date that brought at least the organisation's minimum "
        "cell size of new responses, 7 at most weekly.",
    )
    db_pool_size: int = 10
    db_wait_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long a request waits for the database (SQLite's one writer, a pooled "
        "PostgreSQL connection, connecting) before it answers 503 with Retry-After.",
    )

    webhook_dispatcher: bool = Field(
        default=True,
        description="Deliver webhooks from a background thread in each app process (several "
        "processes share the work safely). Off: run `survey-api webhooks dispatch` instead.",
    )
    webhook_poll_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often the webhook dispatcher looks for due events and deliveries.",
    )
    webhook_backoff_scale: float = Field(
        default=1.0,
        gt=0,
        description="Multiplies the webhook retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, "
        "10 h, and a last attempt a day after the event) and that day; tests shrink it.",
    )
    webhook_disable_after: int = Field(
        default=5,
        ge=1,
        description="A webhook subscription is disabled after this many deliveries in a row "
        "were given up on; an admin re-enables it (PATCH enabled: true).",
    )
    webhook_allowed_networks: str = Field(
        default="",
        description="Comma-separated networks (CIDR, e.g. '10.20.0.0/16,127.0.0.0/8') that "
        "webhook destinations may resolve to besides public addresses. Default none: only "
        "public addresses.",
    )
    webhook_max_subscriptions: int = Field(
        default=10,
        ge=1,
        description="Webhook subscriptions an organisation may have at once (each event is "
        "sent once to each subscription that wants it).",
    )
    webhook_retention_days: float = Field(
        default=30.0,
        gt=0,
        description="Delivered and given-up webhook deliveries, and the events they carried, "
        "are deleted this many days after the event (the dispatcher prunes a batch per pass); "
        "the latest event of each kind per round is kept.",
    )
    webhook_ca_bundle: str | None = Field(
        default=None,
        description="A PEM file of certificate authorities that webhook destinations' "
        "certificates may also chain to (an internal CA), besides the public ones.",
    )

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        from survey_api.webhooks.destinations import parse_networks

        parse_networks(value)
        return value

    @field_validator("form_link_answer_limit", "form_code_attempt_limit")
    @classmethod
    def _a_rate(cls, value: str, info: ValidationInfo) -> str:
        if info.field_name and value == cls.model_fields[info.field_name].default:
            return value  # a default is valid; `limits` (~0.1 s to import) loads on first use
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not a rate such as '20/hour' or '5 per minute'"
            ) from None
        return value

    sql_echo: bool = False


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own Settings)."""
    return Settings()
