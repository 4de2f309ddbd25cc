"""``hunkwise chat PROMPT``: one request through the configured gateway (main -> fallback).

The quickest way to see the whole chain working: configuration, failover, usage and cost. Text
mode prints the answer on stdout and what happened on the way (retries, failovers, open
circuits) on stderr; ``--json`` prints one object with the answer, the model that answered, every
attempt and the usage.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer

from hunkwise.cli.slot_options import ModelChoice, with_model_options

if TYPE_CHECKING:
    from hunkwise.config.resolve import ResolvedConfig
    from hunkwise.config.settings import Settings
    from hunkwise.gateway import AllSlotsFailed, ChatResult, RouterEvent


def register(app: typer.Typer) -> None:
    app.command("chat")(with_model_options(chat))


def chat(
    prompt: str = typer.Argument(..., help="The prompt; '-' reads it from stdin."),
    as_json: bool = typer.Option(
        False, "--json", help="Print one JSON object (NDJSON events with --stream)."
    ),
    stream: bool = typer.Option(False, "--stream", help="Print the answer as it arrives."),
    system: str | None = typer.Option(None, "--system", help="A system prompt."),
    *,
    models: ModelChoice,
) -> None:
    """Send one prompt to the configured models and print the answer."""
    from hunkwise.cli.app import UsageError
    from hunkwise.cli.slot_options import (
        friendly_errors,
        print_notes,
        read_settings,
        resolve,
    )

    with friendly_errors():
        settings = read_settings()
        text = sys.stdin.read() if prompt == "-" else prompt
        if not text.strip():
            raise UsageError("the prompt is empty: pass the text as PROMPT, or '-' to read it from stdin")
        flags = models.flags()
        cfg = resolve(models.profile, flags, settings=settings)
        print_notes(cfg.notes)
        import asyncio

        code = asyncio.run(_run(cfg, settings, text, system=system, as_json=as_json, stream=stream))
    if code:
        raise typer.Exit(code)


def result_json(result: ChatResult) -> dict[str, Any]:
    """The ``--json`` contract: ``model`` is the model that answered, not the one configured."""
    return {
        "content": result.content,
        "model": result.model,
        "provider": result.provider,
        "slot": result.slot,
        "attempts": [a.as_dict() for a in result.attempts],
        "usage": result.usage.as_dict(),
        "failovers": result.failovers,
        "finish_reason": result.finish_reason,
        "reasoning": result.reasoning,
    }


def _on_event(event: RouterEvent) -> None:
    """Failovers, retries and skipped slots, as they happen (stderr: stdout is the answer)."""
    kind = f" ({event.kind})" if event.kind else ""
    if event.type == "retry":
        line = f"retrying {event.slot}{kind} in {event.delay_s:.1f} s"
    elif event.type == "failover":
        line = f"failing over from {event.slot}{kind}: {event.message}"
    elif event.type == "circuit_open":
        line = f"pausing {event.slot}{kind}: {event.message}"
    elif event.type == "skip":
        line = f"skipping {event.slot}: {event.message}"
    elif event.type == "config_error":
        line = f"configuration problem on {event.slot}{kind}: {event.message} (run `hunkwise test`)"
    else:
        return
    typer.secho(line, err=True, fg="yellow")


async def _run(
    cfg: ResolvedConfig, settings: Settings, text: str, *, system: str | None, as_json: bool, stream: bool
) -> int:
    from hunkwise.cli.review_support import record_calls_only
    from hunkwise.gateway import AllSlotsFailed

    try:
        result = await _ask(cfg, settings, text, system=system, as_json=as_json, stream=stream)
    except AllSlotsFailed as exc:
        _print_failure(exc, as_json)
        # Failed calls are recorded too: a spent window (1308) is remembered by the ledger.
        record_calls_only(exc.attempts, settings=settings)
        return 1
    record_calls_only(result.attempts, settings=settings)
    if not as_json:
        _print_footer(result)
    return 0


async def _ask(
    cfg: ResolvedConfig, settings: Settings, text: str, *, system: str | None, as_json: bool, stream: bool
) -> ChatResult:
    """Send the prompt and print the answer; raises ``AllSlotsFailed`` when no slot answered."""
    from hunkwise.config.gateway_wiring import open_router
    from hunkwise.gateway import ChatRequest

    request = ChatRequest.of(text, system=system, purpose="chat")
    async with open_router(cfg, settings=settings, on_event=None if as_json else _on_event) as router:
        if not stream:
            result = await router.chat(request)
            typer.echo(json.dumps(result_json(result), indent=2) if as_json else result.content)
            return result
        final: ChatResult | None = None
        async for event in router.stream(request):
            if event.kind == "done":
                final = event.result
            elif as_json:
                typer.echo(json.dumps({"event": event.kind, "text": event.text}))
            elif event.kind == "content":
                typer.echo(event.text, nl=False)
        assert final is not None, "the router ended a stream without its result"
        if as_json:
            typer.echo(json.dumps({"event": "done", **result_json(final)}))
        else:
            typer.echo("")
        return final


def _print_footer(result: ChatResult) -> None:
    u = result.usage
    tries = len(result.attempts)
    via = f", after {result.failovers} failover(s)" if result.failovers else ""
    typer.secho(
        f"— {result.model} ({result.provider}, {result.slot} slot{via}) · {u.input_tokens} in / "
        f"{u.output_tokens} out tokens · ${u.cost_usd:.6f} · {tries} attempt{'s' if tries != 1 else ''}",
        err=True,
        dim=True,
    )


def _print_failure(exc: AllSlotsFailed, as_json: bool) -> None:
    if as_json:
        payload = {
            "error": str(exc),
            "attempts": [a.as_dict() for a in exc.attempts],
            "configuration_errors": [str(e) for e in exc.configuration_errors],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    typer.secho("error: every configured model failed:", err=True, fg="red")
    for err in exc.errors:
        typer.secho(f"  {err}", err=True, fg="red")
    if exc.configuration_errors:
        typer.secho("run `hunkwise test` for a diagnosis of each slot", err=True)
