"""Every setting hunkwise reads from its environment: one class, one read, at start-up.

:class:`Settings` is the only code that looks at the process environment. ``hunkwise serve``,
``hunkwise worker`` and each CLI command build it once (:meth:`Settings.from_env`) and pass it, or
the values it holds, to whatever needs them: the store gets a database URL, a platform client a
token and an API root, the limits backend a Redis URL. Nothing below reads a variable itself.

Each ``HUNKWISE_*`` variable with a fixed name is a typed field, checked here with an error
that names the variable and says what a valid value looks like; so are the platform variables
(``GITHUB_TOKEN``, ``CI_API_V4_URL``, the Actions event). The model-slot variables
(``HUNKWISE_MODEL``, ``HUNKWISE_FALLBACK_*``), the providers' key and base URL variables
(``ZAI_API_KEY``, ``OPENAI_BASE_URL``) and whatever a profile's ``api_key_env`` names are read
from :attr:`Settings.environ`, the snapshot taken in the same read, by the slot layers of
:mod:`hunkwise.config.layers` and :mod:`hunkwise.config.slots`: each is validated with the name
the user wrote, by the same rules as a flag or a TOML key (flags > environment > repository file
> user file > defaults).
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    PlainValidator,
    SecretStr,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hunkwise.config.env_file import EnvFile, merged_environment
from hunkwise.config.paths import APP_NAME
from hunkwise.config.proxies import (
    CA_BUNDLE_ENV,
    Network,
    ProxyUrl,
    check_ca_bundle,
    parse_no_proxy,
    parse_proxy_url,
)
from hunkwise.config.review_settings import (
    MAX_COST_ENV,
    MONTHLY_BUDGET_ENV,
    parse_budget_setting,
    parse_max_cost_setting,
)
from hunkwise.config.scheduling import SPILL_ENV, Spill, parse_spill
from hunkwise.config.schema import MaxCost
from hunkwise.config.ssrf import ALLOW_ENV, parse_allow_list
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import Secret

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
DEFAULT_JOB_WORKERS = 2
MAX_JOB_WORKERS = 64
_TRUE = ("1", "true", "yes", "on")

# The environment a Settings is being built from (None: the process environment).
_SOURCE: ContextVar[Mapping[str, str] | None] = ContextVar("hunkwise_settings_source", default=None)


def _token(value: Any) -> Secret | None:
    """A token from a variable: surrounding whitespace dropped, empty means unset."""
    if isinstance(value, Secret) or value is None:
        return value
    text = str(value).strip()
    return Secret(text) if text else None


Token = Annotated[Secret | None, PlainValidator(_token)]


GITHUB_APP_ID_ENV = "HUNKWISE_GITHUB_APP_ID"
GITHUB_APP_KEY_ENV = "HUNKWISE_GITHUB_APP_PRIVATE_KEY"


def _whole(name: str, value: Any, what: str, low: int, high: int | None = None) -> int:
    text = str(value).strip()
    try:
        number = int(text)
    except ValueError:
        raise ConfigurationError(f"{name} = {text!r} is not a whole number of {what}", setting=name) from None
    if number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ConfigurationError(f"{name} must be {bound} (got {number})", setting=name)
    return number


def _variable(field: str, lowercase_first: tuple[str, ...], environ: Mapping[str, str] | None = None) -> str:
    """The spelling of a proxy variable that was set (``https_proxy`` or ``HTTPS_PROXY``), for
    messages that name it; the lowercase one when both are (it wins, as in curl)."""
    source = environ if environ is not None else (_SOURCE.get() or {})
    if field in lowercase_first and str(source.get(field, "")).strip():
        return field
    return field.upper()


class _Environ(EnvSettingsSource):
    """pydantic-settings' environment source over an explicit mapping (the process environment
    when none is given): the one place the environment is read. Only the variables a field names
    are seen (a field without a variable, such as ``environ``, is never read from it), and a
    blank one means "not set"."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        names: set[str] = set()
        for info in settings_cls.model_fields.values():
            alias = info.validation_alias
            if isinstance(alias, str):
                names.add(alias)
            elif isinstance(alias, AliasChoices):
                names.update(a for a in alias.choices if isinstance(a, str))
        self._environ = {k: v for k, v in environ.items() if k in names and v.strip()}
        super().__init__(settings_cls, case_sensitive=True)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return self._environ


class Settings(BaseSettings):
    """Everything read from the environment. Build with :meth:`from_env`; frozen."""

    model_config = SettingsConfigDict(case_sensitive=True, frozen=True, extra="ignore", populate_by_name=True)

    # -- where files live (docs/configuration.md) -------------------------------------------------
    home_dir: Path | None = Field(None, validation_alias="HUNKWISE_HOME")
    """``HUNKWISE_HOME``: moves everything a run writes; see :attr:`home`."""
    config_file: Path | None = Field(None, validation_alias="HUNKWISE_CONFIG")
    """``HUNKWISE_CONFIG``: the user config file; see :attr:`user_config`."""
    profile: str | None = Field(None, validation_alias="HUNKWISE_PROFILE")
    max_cost: MaxCost | None = Field(None, validation_alias="HUNKWISE_MAX_COST")
    """``HUNKWISE_MAX_COST``: the CLI's cost ceiling, a server's default for organizations."""
    monthly_budget: MaxCost | None = Field(None, validation_alias=MONTHLY_BUDGET_ENV)
    """``HUNKWISE_MONTHLY_BUDGET``: a server's default monthly budget per organization (USD per
    calendar month, UTC; ``off`` or unset: none). See :mod:`hunkwise.store.budget`."""
    spill: Spill | None = Field(None, validation_alias=SPILL_ENV)
    """``HUNKWISE_SPILL``: a server's spill policy for organizations without their own
    (hunkwise.config.scheduling); unset: ``when-exhausted``."""
    review_context: Literal["none", "hunk", "function", "file"] = Field(
        "hunk", validation_alias="HUNKWISE_REVIEW_CONTEXT"
    )
    """``HUNKWISE_REVIEW_CONTEXT``: code context of the server's reviews (hunkwise.review.context);
    ``function``/``file`` read each changed file at the head commit through the platform's API."""

    quota_monitor: bool = Field(True, validation_alias="HUNKWISE_QUOTA_MONITOR")
    """``HUNKWISE_QUOTA_MONITOR``: ``off`` stops asking Z.AI's quota monitor for Coding Plan windows
    (``usage --windows``, the console); the ledger's own counts are shown then."""

    # -- the store --------------------------------------------------------------------------------
    database_url: str | None = Field(None, validation_alias="HUNKWISE_DATABASE_URL")
    secret_key: SecretStr | None = Field(None, validation_alias="HUNKWISE_SECRET_KEY")
    new_secret_key: SecretStr | None = Field(None, validation_alias="HUNKWISE_NEW_SECRET_KEY")

    # -- the server (docs/server.md) --------------------------------------------------------------
    admin_token: SecretStr | None = Field(None, validation_alias="HUNKWISE_ADMIN_TOKEN")
    dev: bool = Field(False, validation_alias="HUNKWISE_DEV")
    max_body_bytes: int = Field(DEFAULT_MAX_BODY_BYTES, validation_alias="HUNKWISE_MAX_BODY_BYTES")
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field(
        (), validation_alias="HUNKWISE_TRUSTED_PROXIES"
    )
    """Addresses (or networks, or ``*``) of reverse proxies whose X-Forwarded-For/-Proto are
    believed. Empty: the client address is the TCP peer, whatever the headers say."""
    signin_max_failures: int = Field(10, validation_alias="HUNKWISE_SIGNIN_MAX_FAILURES")
    """Wrong tokens one client address may send per window before it gets 429."""
    signin_max_failures_global: int = Field(200, validation_alias="HUNKWISE_SIGNIN_MAX_FAILURES_GLOBAL")
    """Wrong tokens all clients together may send per window before everyone gets 429."""
    signin_window_s: int = 300
    allow_private_base_urls: Annotated[frozenset[str], NoDecode] = Field(
        frozenset(), validation_alias=ALLOW_ENV
    )
    github_webhook_secret: SecretStr | None = Field(None, validation_alias="HUNKWISE_GITHUB_WEBHOOK_SECRET")
    gitlab_webhook_secret: SecretStr | None = Field(None, validation_alias="HUNKWISE_GITLAB_WEBHOOK_SECRET")
    gitea_webhook_secret: SecretStr | None = Field(None, validation_alias="HUNKWISE_GITEA_WEBHOOK_SECRET")
    azure_devops_webhook_password: SecretStr | None = Field(
        None, validation_alias="HUNKWISE_AZURE_DEVOPS_WEBHOOK_PASSWORD"
    )
    """The basic-auth password of the Azure DevOps service hook (docs/azure-devops.md)."""
    azure_devops_webhook_username: str | None = Field(
        None, validation_alias="HUNKWISE_AZURE_DEVOPS_WEBHOOK_USERNAME"
    )
    """Its user name, when one is required (any is accepted when unset)."""
    bitbucket_webhook_secret: SecretStr | None = Field(
        None, validation_alias="HUNKWISE_BITBUCKET_WEBHOOK_SECRET"
    )

    # -- jobs (docs/scale-out.md, docs/cluster.md) ------------------------------------------------
    job_workers: int = Field(DEFAULT_JOB_WORKERS, validation_alias="HUNKWISE_JOB_WORKERS")
    queue_url: str | None = Field(None, validation_alias="HUNKWISE_QUEUE_URL")
    queue_name: str | None = Field(None, validation_alias="HUNKWISE_QUEUE_NAME")
    limits_url: str | None = Field(None, validation_alias="HUNKWISE_LIMITS_URL")
    redis_url: str | None = Field(None, validation_alias="HUNKWISE_REDIS_URL")
    limits_namespace: str = Field("hunkwise", validation_alias="HUNKWISE_LIMITS_NAMESPACE")
    limits_lease_ttl: float = Field(30.0, validation_alias="HUNKWISE_LIMITS_LEASE_TTL")

    # -- GitHub and GitLab (docs/ci.md, docs/server.md) -------------------------------------------
    github_token: Token = Field(None, validation_alias=AliasChoices("HUNKWISE_GITHUB_TOKEN", "GITHUB_TOKEN"))
    github_api_url: str | None = Field(
        None, validation_alias=AliasChoices("HUNKWISE_GITHUB_API_URL", "GITHUB_API_URL")
    )
    github_bot_login: str | None = Field(None, validation_alias="HUNKWISE_GITHUB_BOT_LOGIN")
    github_app_id: int | None = Field(None, validation_alias="HUNKWISE_GITHUB_APP_ID")
    """``HUNKWISE_GITHUB_APP_ID``: the GitHub App's id; with the private key, App mode
    (installation tokens per installation, docs/github.md) instead of one personal token."""
    github_app_private_key: Token = Field(None, validation_alias="HUNKWISE_GITHUB_APP_PRIVATE_KEY")
    """``HUNKWISE_GITHUB_APP_PRIVATE_KEY``: the App's private key, a PEM file's path or the PEM
    itself; held as the PEM text in a :class:`Secret` (masked wherever it is shown), checked at
    start-up to be an RSA private key."""
    github_event_name: str | None = Field(None, validation_alias="GITHUB_EVENT_NAME")
    github_event_path: str | None = Field(None, validation_alias="GITHUB_EVENT_PATH")
    github_repository: str | None = Field(None, validation_alias="GITHUB_REPOSITORY")
    gitlab_token: Token = Field(None, validation_alias=AliasChoices("HUNKWISE_GITLAB_TOKEN", "GITLAB_TOKEN"))
    gitlab_api_url: str | None = Field(
        None, validation_alias=AliasChoices("HUNKWISE_GITLAB_API_URL", "CI_API_V4_URL")
    )
    # -- Azure DevOps Services (docs/azure-devops.md) ---------------------------------------------
    azure_devops_token: Token = Field(None, validation_alias="HUNKWISE_AZURE_DEVOPS_TOKEN")
    """A personal access token of the organization (Code: Read & write)."""
    azure_devops_url: str | None = Field(None, validation_alias="HUNKWISE_AZURE_DEVOPS_URL")
    """The organization's root, ``https://dev.azure.com/ORGANIZATION``: the only place the token goes."""

    # -- Gitea and Forgejo (docs/gitea.md) ----------------------------------------------------------
    gitea_url: str | None = Field(None, validation_alias="HUNKWISE_GITEA_URL")
    """``HUNKWISE_GITEA_URL``: the instance's web address (``https://codeberg.org``); its API is
    ``<url>/api/v1``. Deliveries from repositories elsewhere are refused."""
    gitea_token: Token = Field(None, validation_alias="HUNKWISE_GITEA_TOKEN")

    # -- corporate networks: outbound proxies and CAs (docs/proxies.md) -------------------------
    # Lowercase first: when both spellings are set, the lowercase one wins (curl, urllib).
    https_proxy: ProxyUrl | None = Field(None, validation_alias=AliasChoices("https_proxy", "HTTPS_PROXY"))
    http_proxy: ProxyUrl | None = Field(None, validation_alias=AliasChoices("http_proxy", "HTTP_PROXY"))
    all_proxy: ProxyUrl | None = Field(None, validation_alias=AliasChoices("all_proxy", "ALL_PROXY"))
    no_proxy: str | None = Field(None, validation_alias=AliasChoices("no_proxy", "NO_PROXY"))
    ca_bundle: Path | None = Field(None, validation_alias=CA_BUNDLE_ENV)
    """``HUNKWISE_CA_BUNDLE``: the PEM bundle every outbound TLS connection trusts (wins over
    ``SSL_CERT_FILE``): a TLS-intercepting proxy's root CA."""
    ssl_cert_file: Path | None = Field(None, validation_alias="SSL_CERT_FILE")

    # -- Bitbucket Cloud (docs/bitbucket.md) ------------------------------------------------------
    bitbucket_token: Token = Field(None, validation_alias="HUNKWISE_BITBUCKET_TOKEN")
    """``HUNKWISE_BITBUCKET_TOKEN``: a repository, project or workspace access token (sent as
    ``Bearer``), or, with :attr:`bitbucket_username`, an Atlassian API token (basic auth)."""
    bitbucket_username: str | None = Field(None, validation_alias="HUNKWISE_BITBUCKET_USERNAME")
    """``HUNKWISE_BITBUCKET_USERNAME``: the Atlassian account e-mail an API token belongs to;
    set, the token is sent as basic auth instead of ``Bearer``."""
    bitbucket_api_url: str | None = Field(None, validation_alias="HUNKWISE_BITBUCKET_API_URL")
    """``HUNKWISE_BITBUCKET_API_URL``: the REST API root; default ``https://api.bitbucket.org/2.0``."""
    bitbucket_bot_uuid: str | None = Field(None, validation_alias="HUNKWISE_BITBUCKET_BOT_UUID")
    """``HUNKWISE_BITBUCKET_BOT_UUID``: the account uuid the token posts as (``{...}``). An
    access token cannot ask ``GET /user`` who it is, so this says which comments are hunkwise's."""

    # -- the pull-request conversation (docs/conversation.md) ------------------------------------
    status_fail_on: Literal["critical", "high", "medium", "low"] | None = Field(
        None, validation_alias="HUNKWISE_STATUS_FAIL_ON"
    )
    """``HUNKWISE_STATUS_FAIL_ON``: the least finding severity that fails the merge status."""
    status_incomplete: Literal["failure", "neutral"] = Field(
        "failure", validation_alias="HUNKWISE_STATUS_INCOMPLETE"
    )
    """``HUNKWISE_STATUS_INCOMPLETE``: what an incomplete review shows (never success)."""
    status_max_skipped_files: int | None = Field(None, validation_alias="HUNKWISE_STATUS_MAX_SKIPPED_FILES")
    """``HUNKWISE_STATUS_MAX_SKIPPED_FILES``: more files skipped than this is an incomplete review."""
    bot_handle: str = Field("hunkwise", validation_alias="HUNKWISE_BOT_HANDLE")
    """``HUNKWISE_BOT_HANDLE``: the ``@handle`` that commands hunkwise in a pull request thread."""
    commands_per_hour: int = Field(10, validation_alias="HUNKWISE_COMMANDS_PER_HOUR")
    """``HUNKWISE_COMMANDS_PER_HOUR``: commands accepted per pull request per hour (per server)."""
    feedback_threshold: float = Field(0.3, validation_alias="HUNKWISE_FEEDBACK_THRESHOLD")
    """``HUNKWISE_FEEDBACK_THRESHOLD``: acceptance below which a category or path is demoted."""
    feedback_min_samples: int = Field(5, validation_alias="HUNKWISE_FEEDBACK_MIN_SAMPLES")
    """``HUNKWISE_FEEDBACK_MIN_SAMPLES``: reactions needed before a demotion."""

    # -- everything else, for the slot layers (see the module docstring) --------------------------
    environ: Mapping[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    loaded_env_file: EnvFile = Field(default_factory=EnvFile, exclude=True, repr=False)
    """The ``.env`` file ``serve``/``worker`` read (hunkwise.config.env_file)."""
    from_env_file: frozenset[str] = Field(frozenset(), exclude=True, repr=False)
    """The variables of :attr:`environ` taken from :attr:`loaded_env_file` (the process had none)."""

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, env_file: EnvFile | None = None, **overrides: Any
    ) -> Settings:
        """Read ``env`` (default: the process environment), over ``env_file``'s variables, once.
        Raises :class:`ConfigurationError` naming the first variable that is not valid (and the
        file, when the bad value came from it)."""
        process = os.environ if env is None else env
        env_file = env_file or EnvFile()
        merged = merged_environment(process, env_file)
        from_file = frozenset(k for k in env_file.values if not str(process.get(k, "")).strip())
        snapshot = MappingProxyType(merged)
        token = _SOURCE.set(snapshot)
        try:
            return cls(environ=snapshot, loaded_env_file=env_file, from_env_file=from_file, **overrides)
        except ConfigurationError as exc:
            if exc.setting in from_file:
                raise ConfigurationError(f"{exc} (set in {env_file.path})", setting=exc.setting) from None
            raise
        finally:
            _SOURCE.reset(token)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        source = _SOURCE.get()
        return init_settings, _Environ(settings_cls, os.environ if source is None else source)

    def source_of(self, name: str) -> str:
        """Where the variable ``name`` came from: ``env``, ``.env (PATH)`` or ``default``."""
        if not str(self.environ.get(name, "")).strip():
            return "default"
        return f".env ({self.loaded_env_file.path})" if name in self.from_env_file else "env"

    # -- checks: each names its variable ----------------------------------------------------------
    @field_validator(
        "profile",
        "database_url",
        "queue_url",
        "queue_name",
        "limits_url",
        "redis_url",
        "github_api_url",
        "github_bot_login",
        "github_event_name",
        "github_event_path",
        "github_repository",
        "gitlab_api_url",
        "azure_devops_url",
        "azure_devops_webhook_username",
        "bitbucket_username",
        "bitbucket_api_url",
        "bitbucket_bot_uuid",
        "secret_key",
        "new_secret_key",
        "admin_token",
        "status_fail_on",
        "status_max_skipped_files",
        mode="before",
    )
    @classmethod
    def _stripped(cls, value: Any) -> Any:
        # A blank variable means "not set", as in the slot layers (secrets included).
        return (value.strip() or None) if isinstance(value, str) else value

    @field_validator("status_fail_on", "status_incomplete", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("bot_handle", mode="before")
    @classmethod
    def _handle(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip().lstrip("@")
            if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,38}", value):
                raise ValueError("must be a login such as hunkwise (letters, digits, '-', '_', '.')")
        return value

    @field_validator("github_app_id", mode="before")
    @classmethod
    def _app_id(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text:
            return None
        if not text.isdigit() or int(text) < 1:
            raise ConfigurationError(
                f"{GITHUB_APP_ID_ENV} = {text[:40]!r} is not an App ID: use the number shown as "
                "'App ID' on the GitHub App's settings page",
                setting=GITHUB_APP_ID_ENV,
            )
        return int(text)

    @field_validator("github_app_private_key", mode="before")
    @classmethod
    def _app_key(cls, value: Any) -> Any:
        if value is None or isinstance(value, Secret):
            return value
        if not str(value).strip():
            return None
        from hunkwise.config.github_app_key import app_private_key_pem

        return Secret(app_private_key_pem(str(value), GITHUB_APP_KEY_ENV))

    @property
    def github_app(self) -> tuple[int, Secret] | None:
        """``(app id, private key PEM)`` when App mode is on (both variables set), else None.
        One of the two without the other is refused by :meth:`_app_pair` at start-up."""
        if self.github_app_id is None or self.github_app_private_key is None:
            return None
        return self.github_app_id, self.github_app_private_key

    @model_validator(mode="after")
    def _app_pair(self) -> Settings:
        if (self.github_app_id is None) != (self.github_app_private_key is None):
            have, missing = (
                (GITHUB_APP_ID_ENV, GITHUB_APP_KEY_ENV)
                if self.github_app_id is not None
                else (GITHUB_APP_KEY_ENV, GITHUB_APP_ID_ENV)
            )
            raise ConfigurationError(
                f"{have} is set but {missing} is not: GitHub App mode needs both (or unset {have} "
                "for the personal-token mode, HUNKWISE_GITHUB_TOKEN)",
                setting=missing,
            )
        return self

    @field_validator("azure_devops_url", mode="after")
    @classmethod
    def _azure_devops_url(cls, value: str | None) -> str | None:
        # The organization's root: an http(s) URL with a host and (on dev.azure.com) the
        # organization as its path; the token is sent only there.
        if value is None:
            return None
        match = re.fullmatch(r"https?://[^/\s?#@]+(/[^\s?#]*)?", value)
        if not match or (
            value.lower().startswith("https://dev.azure.com") and not (match.group(1) or "").strip("/")
        ):
            raise ValueError("must be the organization's URL, e.g. https://dev.azure.com/ORGANIZATION")
        return value.rstrip("/")

    @field_validator("home_dir", "config_file", mode="before")
    @classmethod
    def _path(cls, value: Any) -> Any:
        if isinstance(value, str):
            return Path(value.strip()).expanduser() if value.strip() else None
        return value

    @field_validator(
        "github_webhook_secret",
        "gitlab_webhook_secret",
        "gitea_webhook_secret",
        "azure_devops_webhook_password",
        "bitbucket_webhook_secret",
        mode="before",
    )
    @classmethod
    def _shared_secret(cls, value: Any) -> Any:
        # Compared byte for byte with what the platform sends: kept as written.
        return value or None

    @field_validator("gitea_url", mode="before")
    @classmethod
    def _gitea_url(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip().rstrip("/")
        if not text:
            return None
        parts = urlsplit(text)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
            raise ConfigurationError(
                f"HUNKWISE_GITEA_URL = {text!r} is not an instance's web address: expected "
                "http(s)://HOST[/PATH] as you open it in a browser, e.g. https://codeberg.org or "
                "https://git.example.com (without /api/v1)",
                setting="HUNKWISE_GITEA_URL",
            )
        if parts.path.rstrip("/").endswith("/api/v1"):
            raise ConfigurationError(
                f"HUNKWISE_GITEA_URL = {text!r} is the API root; set the instance's web address "
                f"({text[: -len('/api/v1')]!r}): hunkwise adds /api/v1 itself",
                setting="HUNKWISE_GITEA_URL",
            )
        return text

    @field_validator("bitbucket_api_url", mode="after")
    @classmethod
    def _bitbucket_api_url(cls, value: str | None) -> str | None:
        # The only place the token goes, and what a delivery's links are compared with: checked
        # at start-up like HUNKWISE_GITEA_URL and HUNKWISE_AZURE_DEVOPS_URL.
        if value is None:
            return None
        parts = urlsplit(value)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.username is not None
            or parts.query
            or parts.fragment
        ):
            raise ConfigurationError(
                f"HUNKWISE_BITBUCKET_API_URL = {value[:80]!r} is not an API root: expected "
                "http(s)://HOST[/PATH], e.g. https://api.bitbucket.org/2.0 (the default; unset it)",
                setting="HUNKWISE_BITBUCKET_API_URL",
            )
        return value.rstrip("/")

    @field_validator("bitbucket_bot_uuid", mode="after")
    @classmethod
    def _bitbucket_uuid(cls, value: str | None) -> str | None:
        # Compared with the ``user.uuid`` of comments, which Bitbucket writes in braces.
        if value is not None and not re.fullmatch(
            r"\{?[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}\}?", value
        ):
            raise ValueError("must be an account uuid such as {01234567-89ab-cdef-0123-456789abcdef}")
        return value if value is None or value.startswith("{") else "{" + value.strip("{}") + "}"

    @field_validator("max_cost", mode="before")
    @classmethod
    def _max_cost(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return parse_max_cost_setting(value.strip(), MAX_COST_ENV) if value.strip() else None

    @field_validator("monthly_budget", mode="before")
    @classmethod
    def _monthly_budget(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return parse_budget_setting(value.strip(), MONTHLY_BUDGET_ENV) if value.strip() else None

    @field_validator("spill", mode="before")
    @classmethod
    def _spill(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        return parse_spill(value, SPILL_ENV) if value.strip() else None

    @field_validator("dev", mode="before")
    @classmethod
    def _dev(cls, value: Any) -> Any:
        return value.strip().lower() in _TRUE if isinstance(value, str) else value

    @field_validator("quota_monitor", mode="before")
    @classmethod
    def _quota_monitor(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        word = value.strip().lower()
        if word in _TRUE:
            return True
        if word in ("0", "false", "no", "off"):
            return False
        raise ConfigurationError(
            f"HUNKWISE_QUOTA_MONITOR must be on or off (1/0, true/false), got {value!r}",
            setting="HUNKWISE_QUOTA_MONITOR",
        )

    @field_validator("max_body_bytes", mode="before")
    @classmethod
    def _body(cls, value: Any) -> Any:
        return _whole("HUNKWISE_MAX_BODY_BYTES", value, "bytes", 1024) if isinstance(value, str) else value

    @field_validator("signin_max_failures", mode="before")
    @classmethod
    def _signin(cls, value: Any) -> Any:
        return (
            _whole("HUNKWISE_SIGNIN_MAX_FAILURES", value, "failures", 1) if isinstance(value, str) else value
        )

    @field_validator("signin_max_failures_global", mode="before")
    @classmethod
    def _signin_global(cls, value: Any) -> Any:
        name = "HUNKWISE_SIGNIN_MAX_FAILURES_GLOBAL"
        return _whole(name, value, "failures", 1) if isinstance(value, str) else value

    @field_validator("job_workers", mode="before")
    @classmethod
    def _workers(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        text = value.strip()
        if not text.isdigit() or int(text) > MAX_JOB_WORKERS:
            raise ConfigurationError(
                f"HUNKWISE_JOB_WORKERS = {text!r} must be a whole number from 0 to {MAX_JOB_WORKERS}",
                setting="HUNKWISE_JOB_WORKERS",
            )
        return int(text)

    @field_validator("limits_lease_ttl", mode="before")
    @classmethod
    def _ttl(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            ttl = float(value.strip())
            if not 1 <= ttl <= 3600:
                raise ValueError
        except ValueError:
            raise ConfigurationError(
                f"HUNKWISE_LIMITS_LEASE_TTL={value.strip()!r}: expected seconds between 1 and 3600 "
                "(default 30)",
                setting="HUNKWISE_LIMITS_LEASE_TTL",
            ) from None
        return ttl

    @field_validator("limits_namespace", mode="before")
    @classmethod
    def _namespace(cls, value: Any) -> Any:
        return (value.strip() or "hunkwise") if isinstance(value, str) else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        entries = tuple(p.strip() for p in value.split(",") if p.strip())
        for entry in entries:
            if entry == "*":
                continue
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ConfigurationError(
                    f"HUNKWISE_TRUSTED_PROXIES: {entry!r} is not an IP address or network; list your "
                    "reverse proxies' addresses, e.g. 127.0.0.1,10.0.0.0/24",
                    setting="HUNKWISE_TRUSTED_PROXIES",
                ) from None
        return entries

    @field_validator("https_proxy", "http_proxy", "all_proxy", mode="before")
    @classmethod
    def _proxy(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        name = _variable(info.field_name or "", ("https_proxy", "http_proxy", "all_proxy"))
        return parse_proxy_url(name, value) if value.strip() else None

    @field_serializer("https_proxy", "http_proxy", "all_proxy")
    def _masked_proxy(self, value: ProxyUrl | None) -> str | None:
        # A dump of the settings (a log, a debug print) never carries proxy credentials.
        return value.masked if value is not None else None

    @field_validator("no_proxy", mode="before")
    @classmethod
    def _no_proxy(cls, value: Any) -> Any:
        if isinstance(value, str):
            parse_no_proxy(_variable("no_proxy", ("no_proxy",)), value)  # refuse a bad entry now
            return value.strip() or None
        return value

    @field_validator("ca_bundle", "ssl_cert_file", mode="before")
    @classmethod
    def _ca_file(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, str):
            return value
        name = CA_BUNDLE_ENV if info.field_name == "ca_bundle" else "SSL_CERT_FILE"
        return check_ca_bundle(name, Path(value.strip()).expanduser()) if value.strip() else None

    @field_validator("allow_private_base_urls", mode="before")
    @classmethod
    def _allowed(cls, value: Any) -> Any:
        return parse_allow_list(value) if isinstance(value, str) else value

    # -- derived ----------------------------------------------------------------------------------
    @property
    def home(self) -> Path:
        """The data directory: ``HUNKWISE_HOME`` or the platform's user data dir."""
        if self.home_dir is not None:
            return self.home_dir
        from platformdirs import user_data_path

        return user_data_path(APP_NAME, appauthor=False)

    @property
    def state_path(self) -> Path:
        """The local state store (circuits, cooldowns) shared by every CLI run on this machine."""
        return self.home / "state.db"

    @property
    def user_config(self) -> Path:
        """The user-level TOML config: ``HUNKWISE_CONFIG``; else ``$HUNKWISE_HOME/config.toml``
        when ``HUNKWISE_HOME`` is set (one variable moves a whole install); else
        ``<platform user config dir>/hunkwise/config.toml``."""
        if self.config_file is not None:
            return self.config_file
        if self.home_dir is not None:
            return self.home_dir / "config.toml"
        from platformdirs import user_config_path

        return user_config_path(APP_NAME, appauthor=False) / "config.toml"

    @property
    def network(self) -> Network:
        """How outbound calls leave this machine (proxies, ``NO_PROXY``, the CA bundle), for every
        client that is built (hunkwise.config.outbound); see hunkwise.config.proxies."""
        everything, entries = parse_no_proxy("NO_PROXY", self.no_proxy or "")
        ca, ca_env = (
            (self.ca_bundle, CA_BUNDLE_ENV)
            if self.ca_bundle is not None
            else (self.ssl_cert_file, "SSL_CERT_FILE")
        )
        sources = {
            label: _variable(label.lower() + "_proxy", (label.lower() + "_proxy",), self.environ)
            for label in ("HTTPS", "HTTP", "ALL", "NO")
        }
        return Network(
            https_proxy=self.https_proxy,
            http_proxy=self.http_proxy,
            all_proxy=self.all_proxy,
            no_proxy_all=everything,
            no_proxy=entries,
            ca_bundle=ca,
            ca_bundle_env=ca_env if ca is not None else "",
            sources=sources,
        )

    @property
    def limits(self) -> tuple[str, str] | None:
        """``(variable, URL)`` of the cluster limits store: ``HUNKWISE_LIMITS_URL``, else
        ``HUNKWISE_REDIS_URL``; None when neither is set (limits stay in the process)."""
        if self.limits_url:
            return "HUNKWISE_LIMITS_URL", self.limits_url
        if self.redis_url:
            return "HUNKWISE_REDIS_URL", self.redis_url
        return None


__all__ = ["DEFAULT_JOB_WORKERS", "DEFAULT_MAX_BODY_BYTES", "Settings"]
