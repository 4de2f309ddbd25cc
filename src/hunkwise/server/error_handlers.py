"""Errors into HTTP answers, once: malformed JSON -> 400, invalid config -> 422 naming the field,
body too large -> 413. Validation errors are re-shaped without pydantic's ``input`` echo, because
the input of a BYOK request contains an API key.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hunkwise.errors import ConfigurationError
from hunkwise.store.secrets import SecretsError

log = logging.getLogger("hunkwise.server")


def config_error_detail(
    exc: ConfigurationError, *, prefix: tuple[str, ...] = ("body",)
) -> list[dict[str, Any]]:
    """``ConfigurationError(setting="main.model")`` -> ``[{"loc": ["body","main","model"], ...}]``."""
    setting = getattr(exc, "setting", None) or ""
    loc = [*prefix, *[p for p in setting.split(".") if p]]
    return [{"loc": loc, "msg": str(exc), "type": "value_error"}]


def _clean(errors: Any) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        # pydantic prefixes a validator's own sentence with "Value error, ": the sentence is the message.
        msg = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        out.append({"loc": list(err.get("loc", ())), "msg": msg, "type": err.get("type", "value_error")})
    return out


async def _validation_handler(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = list(exc.errors())
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        reason = (bad_json.get("ctx") or {}).get("error", "not valid JSON")
        return JSONResponse(
            {"detail": f"the request body is not valid JSON ({reason}); send a JSON object"},
            status_code=status.HTTP_400_BAD_REQUEST,
        )
    return JSONResponse({"detail": _clean(errors)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _config_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ConfigurationError)
    if isinstance(exc, SecretsError):
        log.error("stored keys cannot be used: %s", exc)
        return JSONResponse(
            {"detail": f"the server cannot decrypt stored keys: {exc}"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        )
    return JSONResponse(
        {"detail": config_error_detail(exc)}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_handler)  # type: ignore[arg-type]
    app.add_exception_handler(ConfigurationError, _config_handler)


class _TooLarge(HTTPException):
    """Raised from ``receive`` when a streamed body passes the limit. An HTTPException, so that
    FastAPI's body parsing re-raises it (it wraps other errors as 400) and it becomes a 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_message(limit))


def _too_large_message(limit: int) -> str:
    return f"the request body is larger than {limit} bytes (HUNKWISE_MAX_BODY_BYTES)"


class BodyLimitMiddleware:
    """Reject request bodies over ``limit`` bytes with 413, whether or not they declare a length
    (a chunked upload is counted as it streams and cut off at the limit)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.limit:
                    await self._reject(scope, receive, send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge(self.limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(scope, receive, send)

    async def _reject(self, scope: Scope, receive: Receive, send: Send) -> None:
        await JSONResponse({"detail": _too_large_message(self.limit)}, 413)(scope, receive, send)
