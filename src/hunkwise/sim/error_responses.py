"""Error responses in each provider's own shape.

One function per failure, three dialects: Z.AI (``{"error": {"code": "1302", "message"}}``, codes
and messages from the catalog's ``zai_errors`` table), OpenAI (``{"error": {"message", "type",
"param", "code"}}``) and Anthropic (``{"type": "error", "error": {"type", "message"}}``). Each
builder returns the response and the name the failure is counted under in ``/_sim/stats``: the
Z.AI business code, the OpenAI ``code``, or the Anthropic error ``type``.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

from starlette.responses import JSONResponse, Response

from hunkwise.catalog.loader import load_catalog

Dialect = Literal["zai", "openai", "anthropic"]
Failure = tuple[Response, str]

# Z.AI prints reset times as naive Beijing wall-clock time ("Your limit will reset at
# 2026-09-09 05:38:28"), as observed in real 1308 bodies; the simulator does the same.
ZAI_TZ = timezone(timedelta(hours=8))

_BAD_GATEWAY_HTML = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)


def _zai_bad_request_code() -> str:
    """Z.AI's "invalid API parameter" code (1210), from the catalog like every other code."""
    return next(c.code for c in load_catalog().zai_errors.values() if c.kind == "bad_request")


def _zai(code: str, *, message: str | None = None, status: int | None = None, **extra: Any) -> Failure:
    entry = load_catalog().error_code(code)
    body: dict[str, Any] = {
        "code": code,
        "message": message or (entry.message if entry else "Invalid API parameter"),
        **extra,
    }
    return JSONResponse({"error": body}, status_code=status or (entry.status if entry else 400)), code


def _openai(status: int, message: str, type_: str, code: str | None, param: str | None = None) -> Failure:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status), code or str(status)


def _anthropic(status: int, type_: str, message: str) -> Failure:
    body = {"type": "error", "error": {"type": type_, "message": message}, "request_id": _request_id()}
    return JSONResponse(body, status_code=status), type_


def _request_id() -> str:
    return "req_sim_" + uuid.uuid4().hex[:20]


def zai_reset_text(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, ZAI_TZ).strftime("%Y-%m-%d %H:%M:%S")


# -- failures ------------------------------------------------------------------------------------
def auth(dialect: Dialect, reason: Literal["missing", "unknown", "wrong_plan"]) -> Failure:
    if dialect == "zai":
        return _zai({"missing": "1001", "unknown": "1002", "wrong_plan": "1000"}[reason])
    if dialect == "openai":
        message = (
            "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY'."
            if reason == "missing"
            else "Incorrect API key provided."
        )
        return _openai(401, message, "invalid_request_error", "invalid_api_key")
    message = "x-api-key header is required" if reason == "missing" else "invalid x-api-key"
    return _anthropic(401, "authentication_error", message)


def bad_request(dialect: Dialect, message: str, param: str | None = None) -> Failure:
    if dialect == "zai":
        return _zai(_zai_bad_request_code(), message=message)
    if dialect == "openai":
        return _openai(400, message, "invalid_request_error", None, param)
    return _anthropic(400, "invalid_request_error", message)


def unsupported(dialect: Dialect, message: str, param: str) -> Failure:
    """OpenAI rejects parameters a reasoning model does not take (``max_tokens``, ``temperature``)."""
    if dialect == "openai":
        return _openai(400, message, "invalid_request_error", "unsupported_parameter", param)
    return bad_request(dialect, message, param)


def model_not_found(dialect: Dialect, model: str) -> Failure:
    if dialect == "zai":
        return _zai("1211")
    if dialect == "openai":
        message = f"The model `{model}` does not exist or you do not have access to it."
        return _openai(404, message, "invalid_request_error", "model_not_found", "model")
    return _anthropic(404, "not_found_error", f"model: {model}")


def plan_lacks_model(dialect: Dialect, model: str) -> Failure:
    if dialect == "zai":
        return _zai("1311")
    return model_not_found(dialect, model)


def context_overflow(dialect: Dialect, prompt_tokens: int, window: int) -> Failure:
    if dialect == "zai":
        return _zai("1261")
    if dialect == "openai":
        message = (
            f"This model's maximum context length is {window} tokens. However, your messages "
            f"resulted in {prompt_tokens} tokens. Please reduce the length of the messages."
        )
        return _openai(400, message, "invalid_request_error", "context_length_exceeded", "messages")
    return _anthropic(
        400, "invalid_request_error", f"prompt is too long: {prompt_tokens} tokens > {window} maximum"
    )


def concurrency(dialect: Dialect, limit: int | None) -> Failure:
    if dialect == "zai":
        return _zai("1302")
    if dialect == "openai":
        message = (
            f"Rate limit reached: at most {limit} concurrent request(s) for this key. Try again shortly."
        )
        return _openai(429, message, "requests", "rate_limit_exceeded")
    message = f"Number of concurrent connections has exceeded your rate limit ({limit})."
    return _anthropic(429, "rate_limit_error", message)


def quota(dialect: Dialect, window: Literal["5h", "week"], reset_at: float) -> Failure:
    if dialect == "zai":
        code = "1308" if window == "5h" else "1310"
        entry = load_catalog().error_code(code)
        base = entry.message if entry else "Usage limit reached"
        message = f"{base}. Your limit will reset at {zai_reset_text(reset_at)}"
        return _zai(code, message=message, next_flush_time=int(reset_at * 1000))
    label = "5-hour" if window == "5h" else "weekly"
    reset = datetime.fromtimestamp(reset_at, UTC).isoformat(timespec="seconds")
    if dialect == "openai":
        message = f"Rate limit reached for requests ({label} window). Resets at {reset}."
        return _openai(429, message, "requests", "rate_limit_exceeded")
    return _anthropic(
        429, "rate_limit_error", f"This request would exceed your {label} request limit (resets {reset})."
    )


def forced(code: str) -> Failure:
    """A Coding Plan code a key was configured to answer with (``force_error``), with the
    catalog's message and HTTP status."""
    return _zai(code)


def balance(dialect: Dialect) -> Failure:
    if dialect == "zai":
        return _zai("1113")
    if dialect == "openai":
        message = "You exceeded your current quota, please check your plan and billing details."
        return _openai(429, message, "insufficient_quota", "insufficient_quota")
    message = "Your credit balance is too low to access the Anthropic API."
    return _anthropic(400, "invalid_request_error", message)


def http_fault(dialect: Dialect, kind: str) -> Response:
    """An injected server-side failure (500/502/503, overloaded) in the dialect's shape."""
    if kind == "502":
        return Response(_BAD_GATEWAY_HTML, status_code=502, media_type="text/html")
    if dialect == "zai":
        if kind in ("1305", "1312"):
            return _zai(kind)[0]
        message = "Internal Error" if kind == "500" else "Service Unavailable"
        return JSONResponse({"error": {"code": kind, "message": message}}, status_code=int(kind))
    if dialect == "openai":
        if kind == "500":
            return _openai(
                500, "The server had an error while processing your request.", "server_error", None
            )[0]
        return _openai(
            503, "The engine is currently overloaded, please try again later.", "server_error", None
        )[0]
    if kind == "500":
        return _anthropic(500, "api_error", "Internal server error")[0]
    return _anthropic(529, "overloaded_error", "Overloaded")[0]


def not_found(path: str) -> Response:
    return JSONResponse({"error": {"code": "404", "message": f"no such endpoint: {path}"}}, status_code=404)
