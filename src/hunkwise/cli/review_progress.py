"""The live progress display of ``hunkwise review`` (only on a terminal, never with ``--quiet``).

It is both the engine's :class:`~hunkwise.review.engine.ProgressSink` and the router's event
hook, so one line shows chunks done/total, the model serving, failovers, tokens and cost so far,
and failovers are also printed as they happen (the moment a Coding Plan window closes is worth
seeing, not only counting). The figures come from the chunks' call records, as the report's do
(a router event is a notice, not a count), so the line and the report agree.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from hunkwise.gateway import RouterEvent
    from hunkwise.review.engine import ChunkOutcome


class ReviewProgress:
    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console
        self.progress = Progress(
            TextColumn("[bold]reviewing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task: Any = None
        self.model = "-"
        self.failovers = 0
        self.tokens = 0
        self.cost = 0.0

    def _status(self) -> str:
        return f"model {self.model} · {self.tokens:,} tokens · ${self.cost:.4f}" + (
            f" · [yellow]{self.failovers} failover(s)[/]" if self.failovers else ""
        )

    # -- engine ProgressSink ---------------------------------------------------------------------
    def review_started(self, chunks: int, estimated_cost_usd: float) -> None:
        self.progress.start()
        self.task = self.progress.add_task(
            "review", total=chunks, status=f"estimated ${estimated_cost_usd:.4f}"
        )

    def chunk_done(self, outcome: ChunkOutcome) -> None:
        if outcome.model:
            self.model = outcome.model
        self.tokens += outcome.usage.input_tokens + outcome.usage.output_tokens
        self.cost += outcome.usage.cost_usd
        self.failovers += outcome.failovers
        if not outcome.ok:
            self.console.print(f"[red]chunk {outcome.index} failed[/] (see the report)")
        if self.task is not None:
            self.progress.update(self.task, advance=1, status=self._status())

    # -- router hook ---------------------------------------------------------------------------
    def on_event(self, event: RouterEvent) -> None:
        from rich.markup import escape

        if event.type == "failover":
            why = f" ({event.kind})" if event.kind else ""
            self.console.print(f"[yellow]failover[/] from {escape(event.slot)}{escape(why)}")
        elif event.type == "circuit_open":
            self.console.print(f"[yellow]pausing[/] {escape(event.slot)}: {escape(event.message)}")
        if self.task is not None:
            self.progress.update(self.task, status=self._status())

    def stop(self) -> None:
        self.progress.stop()
