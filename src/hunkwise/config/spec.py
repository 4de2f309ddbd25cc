"""``SlotSpec``: what a person (CLI, TOML, environment) or an organization (JSON API) writes to
describe one model slot, before any catalog facts are applied.

Two shapes are accepted, matching the two ways the product lets people configure a model:

* a **card**: ``{"card": "glm-5.1", "plan": "coding", "tier": "lite", "api_key": "..."}``
* a **manual** config: ``{"provider": "openai_compatible", "base_url": ..., "model": ...,
  "api_key": ..., "max_concurrent_requests": 5, "thinking": "medium"}``

Every field is optional here so that partial layers (a flag, one env var, a profile) validate on
their own and fail naming *their* setting; cross-field rules live in :mod:`hunkwise.config.slots`.

The key is not part of a spec. Where a key may be typed next to the settings (the JSON API, the
console, a user config file, ``HUNKWISE_API_KEY``) the input is a :class:`SlotInput`, and the key
becomes a :class:`~hunkwise.gateway.types.Secret` right there (:data:`ApiKey`), checked by the one
rule of :func:`~hunkwise.config.validation.api_key_problem`; :meth:`SlotInput.split` then hands
the spec and the key on separately, so the key is never turned back into text before the client.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping
from typing import Annotated, Any, NamedTuple, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    ValidationError,
    WithJsonSchema,
    field_validator,
)

from hunkwise.config.validation import (
    MAX_API_KEY_CHARS,
    MAX_BASE_URL_CHARS,
    MAX_CONCURRENT_REQUESTS,
    MAX_CONTEXT_WINDOW,
    MAX_OUTPUT_TOKENS,
    api_key_problem,
    url_text_problem,
)
from hunkwise.errors import ConfigurationError
from hunkwise.gateway import PlanId, ProviderId, Secret, TierId

# What a valid value looks like, per field: used for every source (env, flag, TOML, JSON) so the
# same mistake gets the same explanation wherever it was made.
FIELD_HELP: dict[str, str] = {
    "card": "a catalog model id such as glm-5.1 (see `hunkwise models`)",
    "provider": "one of zai, openai_compatible, openai, anthropic",
    "base_url": f"an https:// URL without the /chat/completions path, ≤ {MAX_BASE_URL_CHARS:,} characters",
    "model": "a model id such as glm-5.1, gpt-5-mini or claude-haiku-4-5",
    "plan": "one of developer, coding",
    "tier": "one of lite, pro, max",
    "api_key": f"the API key text: printable ASCII without spaces, at most {MAX_API_KEY_CHARS:,} characters",
    "api_key_env": "the name of an environment variable that holds the key, e.g. ZAI_API_KEY",
    "max_concurrent_requests": f"a whole number from 1 to {MAX_CONCURRENT_REQUESTS:,}, or 0 for no cap",
    "thinking": "off, low, medium, high, auto, or a JSON object",
    "temperature": "a number from 0 to 2",
    "max_output_tokens": f"a whole number from 1 to {MAX_OUTPUT_TOKENS:,}, at most the model's own maximum",
    "timeout": "seconds, a number > 0 and ≤ 3600",
    "context_window": f"a whole number of tokens from 1,024 to {MAX_CONTEXT_WINDOW:,}",
    "input_price": "USD per 1M input tokens, a number ≥ 0",
    "output_price": "USD per 1M output tokens, a number ≥ 0",
    "allow_http": "true or false",
    "adaptive_concurrency": "true or false",
}


def _typed_key(value: Any) -> Secret:
    """Text -> :class:`Secret`, once, where a key is typed. Surrounding whitespace (a pasted
    trailing newline) is dropped; what is left must fit in an HTTP header, or the first request
    would crash instead of failing clearly. An empty key means "not given here"."""
    if isinstance(value, Secret):
        return value
    if not isinstance(value, str):
        raise ValueError(f"expected {FIELD_HELP['api_key']}")
    key = value.strip()
    problem = api_key_problem(key)
    if problem:
        raise ValueError(problem)
    return Secret(key)


ApiKey = Annotated[
    Secret,
    PlainValidator(_typed_key),
    PlainSerializer(lambda key: key.masked(), return_type=str),
    WithJsonSchema({"type": "string", "format": "password", "writeOnly": True}),
]
"""An API key as an input field: validated into a :class:`Secret`, shown masked if ever dumped."""


def key_from_text(text: str, setting: str) -> Secret:
    """A key read from somewhere else than an input model (an environment variable, a stored row
    decrypted for use) through the same rule, or :class:`ConfigurationError` naming ``setting``.
    The key is never quoted back."""
    key = text.strip()
    problem = api_key_problem(key)
    if problem:
        raise ConfigurationError(f"{setting} = (hidden) is not valid: {problem}", setting=setting)
    return Secret(key)


class SlotSpec(BaseModel):
    """One slot as configured, without its key; all fields optional (see module docstring)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, str_strip_whitespace=True)

    card: str | None = None
    provider: ProviderId | None = None
    base_url: str | None = None
    model: str | None = None
    plan: PlanId | None = None
    tier: TierId | None = None
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    max_concurrent_requests: int | None = Field(
        None,
        ge=0,
        le=MAX_CONCURRENT_REQUESTS,
        validation_alias=AliasChoices("max_concurrent_requests", "max_concurrent"),
    )
    thinking: str | dict[str, Any] | None = None
    temperature: float | None = Field(None, ge=0, le=2)
    max_output_tokens: int | None = Field(None, ge=1, le=MAX_OUTPUT_TOKENS)
    timeout: float | None = Field(None, gt=0, le=3600)
    context_window: int | None = Field(None, ge=1024, le=MAX_CONTEXT_WINDOW)
    input_price: float | None = Field(None, ge=0)
    output_price: float | None = Field(None, ge=0)
    allow_http: bool | None = None
    adaptive_concurrency: bool | None = None

    @field_validator("card", "provider", "plan", "tier", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        # People write GLM-5.1, Coding, Lite; catalog ids are lower-case. ``model`` keeps its case:
        # a self-hosted server's model ids (``Qwen/Qwen2.5-Coder``) are case-sensitive.
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("max_concurrent_requests", mode="before")
    @classmethod
    def _no_cap(cls, value: Any) -> Any:
        # "none"/"unlimited" read better than 0 in an env file; all three mean "no cap".
        if isinstance(value, str) and value.strip().lower() in ("none", "unlimited", "no cap"):
            return 0
        return value

    @field_validator("base_url")
    @classmethod
    def _url_text(cls, value: str | None) -> str | None:
        # A URL parser silently drops CR/LF and tabs: refuse them rather than store one URL and
        # call another.
        problem = url_text_problem(value) if value else None
        if problem:
            raise ValueError(problem)
        return value

    def provided(self) -> dict[str, Any]:
        """Only the fields this layer actually set (``None`` means "not set here")."""
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class SlotInput(SlotSpec):
    """A slot as typed where its key may be typed too: the JSON API and the console, a user config
    file's slot table, the ``HUNKWISE_[FALLBACK_]*`` variables. ``api_key`` is already a
    :class:`Secret`; an empty one means "no key here" (the API keeps the stored key, a layer
    leaves the key to ``api_key_env`` or the provider's variable)."""

    api_key: ApiKey | None = None

    def split(self) -> SlotEntry:
        """The spec and the key, apart: what :func:`hunkwise.config.slots.build_slot` takes.
        The spec keeps which fields were set (layers merge by it) and is not validated again."""
        fields = {name: getattr(self, name) for name in SlotSpec.model_fields}
        return SlotEntry(
            SlotSpec.model_construct(self.model_fields_set - {"api_key"}, **fields), self.api_key
        )


class SlotEntry(NamedTuple):
    """A slot's settings and, beside them, its key if one was typed (``None`` or empty: none)."""

    spec: SlotSpec
    key: Secret | None = None


Spec = TypeVar("Spec", bound=SlotSpec)


def _setting_name(field: str, names: Callable[[str], str] | Mapping[str, str] | None) -> str:
    if names is None:
        return field
    if callable(names):
        return names(field)
    return names.get(field, field)


def parse_spec(
    data: Mapping[str, Any],
    *,
    names: Callable[[str], str] | Mapping[str, str] | None = None,
    where: str = "",
) -> SlotSpec:
    """Validate ``data`` into a :class:`SlotSpec`, or raise one :class:`ConfigurationError` that
    names the offending setting *as the user wrote it* (``HUNKWISE_TIER``, ``--tier``,
    ``profiles.team.main.tier``, ``main.tier``) and says what a valid value looks like.

    ``names`` maps a field name to that source-specific setting name; ``where`` is appended
    (e.g. "in /repo/.hunkwise.toml") so the user knows which file to open. A spec has no key:
    ``api_key`` is an unknown setting here (use :func:`parse_input` where a key may be typed).
    """
    return _parse(SlotSpec, data, names=names, where=where)


def parse_input(
    data: Mapping[str, Any],
    *,
    names: Callable[[str], str] | Mapping[str, str] | None = None,
    where: str = "",
) -> SlotInput:
    """:func:`parse_spec` for a source where the key may be typed too (see :class:`SlotInput`)."""
    return _parse(SlotInput, data, names=names, where=where)


def _parse(
    model: type[Spec],
    data: Mapping[str, Any],
    *,
    names: Callable[[str], str] | Mapping[str, str] | None,
    where: str,
) -> Spec:
    cleaned = {k: v for k, v in data.items() if not (isinstance(v, str) and not v.strip() and k != "api_key")}
    try:
        return model.model_validate(cleaned)
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        suffix = f" {where}" if where else ""
        if err["type"] == "extra_forbidden":
            known = sorted(k for k in FIELD_HELP if k in model.model_fields)
            close = difflib.get_close_matches(field, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known settings: {', '.join(known)}"
            raise ConfigurationError(
                f"unknown setting {_setting_name(field, names)!r}{suffix}{hint}",
                setting=_setting_name(field, names),
            ) from None
        if field in ("max_concurrent", "max_concurrent_requests"):
            field = "max_concurrent_requests"
        setting = _setting_name(field, names)
        value = data.get(field, data.get("max_concurrent") if field == "max_concurrent_requests" else None)
        if field == "api_key_env":  # an invalid variable name is most likely a pasted key
            raise ConfigurationError(
                f"{setting} = {Secret(str(value)).masked()}{suffix} is not valid: expected the NAME "
                f"of an environment variable that holds the key, e.g. ZAI_API_KEY, not the key "
                f"itself (shown masked)",
                setting=setting,
            ) from None
        if field == "api_key":
            shown = "(hidden)"
        elif isinstance(value, str) and len(value) > 80:
            shown = f"{value[:60]!r}… ({len(value):,} characters)"
        else:
            shown = repr(value)
        # A rule of ours (config.validation) says exactly what is wrong; pydantic's own checks
        # (a type, a bound) are explained by what a valid value looks like.
        reason = err.get("ctx", {}).get("error") if err["type"] == "value_error" else None
        expected = str(reason) if reason else f"expected {FIELD_HELP.get(field, err['msg'])}"
        raise ConfigurationError(
            f"{setting} = {shown}{suffix} is not valid: {expected}",
            setting=setting,
        ) from None
