"""``hunkwise review``: review the current change and print (or write) the report.

Exit codes: 0 done (findings never fail a run unless ``--fail-on`` says so), 1 findings at or
above ``--fail-on``, 2 usage or configuration error, 3 review incomplete (some requests failed,
the platform could not be reached, or the review could not be posted).

Remote inputs (``--github`` in GitHub Actions, ``--pr URL``) live in :mod:`review_remote`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from hunkwise.cli.slot_options import ModelChoice, with_model_options

if TYPE_CHECKING:
    from hunkwise.cli.review_remote import RemoteChange
    from hunkwise.config.files import ConfigFiles
    from hunkwise.config.review_settings import ReviewConfig
    from hunkwise.config.settings import Settings
    from hunkwise.gateway import Recordings, Slot
    from hunkwise.jobs.review_status import StatusPolicy
    from hunkwise.platforms.local_git import LocalChange
    from hunkwise.platforms.status import CommitState
    from hunkwise.review.context import ContextMode
    from hunkwise.review.engine import ReviewOptions
    from hunkwise.review.report import ReviewReport
    from hunkwise.review.verification import VerifyOptions

FORMATS = ("text", "json", "markdown", "sarif")
SEVERITY_HELP = "critical, high, medium or low"
NOTHING = "nothing to review"
OFFLINE_HINT = "to review without a model, use --offline; --dry-run plans without a key"


def register(app: typer.Typer) -> None:
    app.command("review")(with_model_options(review))


def review(
    base: str | None = typer.Option(None, "--base", help="Compare against merge-base with this ref."),
    head: str | None = typer.Option(None, "--head", help="Review this ref instead of HEAD."),
    staged: bool = typer.Option(False, "--staged", help="Review the staged changes (the index)."),
    diff: str | None = typer.Option(None, "--diff", help="Review a diff file; '-' reads stdin."),
    fmt: str = typer.Option("text", "--format", "-f", help="text, json, markdown or sarif."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    min_severity: str | None = typer.Option(
        None, "--min-severity", help=f"Hide findings below: {SEVERITY_HELP}."
    ),
    max_findings: int | None = typer.Option(
        None, "--max-findings", help="Show at most this many (the rest are listed in the summary)."
    ),
    min_confidence: float | None = typer.Option(
        None, "--min-confidence", help="Hide findings the model is less sure of (0 to 1, such as 0.6)."
    ),
    context: str | None = typer.Option(
        None,
        "--context",
        help="Code sent around each change: none, hunk (the diff's, default), function, file.",
    ),
    verify: bool | None = typer.Option(
        None,
        "--verify/--no-verify",
        help="A second request scores each finding 0-10 (default: [review] verify).",
    ),
    min_score: int | None = typer.Option(
        None, "--min-score", help="With --verify: drop findings scored below this (0-10, default 5)."
    ),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help=f"Exit 1 on findings at or above: {SEVERITY_HELP}."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print the plan and estimated cost; call no model (no key needed)."
    ),
    max_cost: str | None = typer.Option(
        None,
        "--max-cost",
        help="Stop before the first request when the estimate is above this (USD; default 2.00; 'off').",
    ),
    offline: bool = typer.Option(False, "--offline", help="Use the built-in simulator: no network, no key."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display and no notes."),
    github: bool = typer.Option(
        False, "--github", help="In GitHub Actions: review the event's pull request and post the review."
    ),
    pr: str | None = typer.Option(None, "--pr", help="Review a GitHub PR or GitLab MR by its URL."),
    post: bool = typer.Option(False, "--post", help="With --pr: post the review to the PR/MR."),
    no_post: bool = typer.Option(False, "--no-post", help="With --github: print only, post nothing."),
    api_url: str | None = typer.Option(
        None, "--api-url", help="With --github/--pr: the platform API base (default: from the URL/env)."
    ),
    record_dir: Path | None = typer.Option(
        None, "--record", help="Store every raw model answer in this directory (JSON, no secrets)."
    ),
    replay_dir: Path | None = typer.Option(
        None, "--replay", help="Serve the answers recorded in this directory: no network, no key."
    ),
    *,
    models: ModelChoice,
) -> None:
    """Review a change: the current branch vs its merge-base with the default branch (on the default branch: the last commit), --base/--head, --staged, --diff FILE, a PR/MR URL (--pr), or the pull request of a GitHub Actions job (--github)."""  # noqa: E501
    from hunkwise.cli.slot_options import friendly_errors, read_settings
    from hunkwise.cli.startup import pause_collector
    from hunkwise.config.files import load_config_files
    from hunkwise.config.review_settings import review_config

    pause_collector()  # until the router is built (_review): start-up is imports
    profile = models.profile
    with friendly_errors(no_model_hint=OFFLINE_HINT):
        settings = read_settings()
        flags = models.flags()
        _check_options(fmt, min_severity, fail_on, max_findings, min_confidence, diff, base, head, staged)
        if offline and (flags or profile):
            _usage_error(
                "--offline reviews with the built-in simulator: drop the model options (--model, ...)"
            )
        recordings = _recordings(record_dir, replay_dir, offline=offline, dry_run=dry_run)
        files = load_config_files(settings)  # the same validation with and without --offline
        config = review_config(files, settings=settings, max_cost_flag=max_cost)
        remote = _remote_change(settings, github, pr, post, no_post, api_url, diff, base, head, staged)
        change = remote.change if remote else _read_change(diff, base, head, staged)
        options = _options(
            settings, change, config, min_severity, max_findings, min_confidence, dry_run, offline
        )
        options.verify = _verify_options(options, verify, min_score)
        options.context = _context_mode(context)
        if options.context_mode() in ("function", "file"):
            from hunkwise.cli.review_support import head_files

            options.head = head_files(change, Path.cwd())
        after = None
        status: StatusPolicy | None = None
        if remote is not None:
            options.change = remote.change_dict()
            if (github and not no_post) or post:
                status = _status_policy(settings, fail_on or options.rules.settings.fail_on)
                after = _poster(remote, quiet=quiet, status=None if dry_run else status)
        if status is not None and not dry_run:
            _show_status(remote, pending_status(), quiet=quiet)
        try:
            code = _run(
                settings, change, options, flags, profile, files, fmt=fmt, output=output, quiet=quiet,
                fail_on=fail_on, ledger_source=remote.target.platform if remote else None, after=after,
                recordings=recordings,
            )  # fmt: skip
        except BaseException as exc:  # the pending status must never outlive the run
            if (
                status is not None
                and not dry_run
                and not (isinstance(exc, typer.Exit) and exc.exit_code == 0)
            ):
                from hunkwise.jobs.review_status import Incomplete, incomplete

                _show_status(remote, incomplete(Incomplete.ERROR, str(exc)[:200], status), quiet=quiet)
            raise
    raise typer.Exit(code)


def _status_policy(settings: Settings, fail_on: str | None) -> StatusPolicy:
    """The merge status policy of an Action run: ``--fail-on`` (or the rules file's), and the
    server's settings for an incomplete review (docs/conversation.md)."""
    from hunkwise.jobs.review_status import StatusPolicy

    return StatusPolicy(
        fail_on=(fail_on or "").lower() or None,
        incomplete=settings.status_incomplete,
        max_skipped_files=settings.status_max_skipped_files,
    )


def pending_status() -> CommitState:
    from hunkwise.jobs.review_status import pending

    return pending()


def _show_status(remote: RemoteChange | None, state: CommitState, *, quiet: bool) -> None:
    """Best effort: a token that may not set statuses costs the status, never the review."""
    from hunkwise.cli.review_remote import RemoteError, set_status

    if remote is None:
        return
    try:
        where = set_status(remote, state)
    except RemoteError as exc:
        typer.secho(f"warning: the merge status was not set: {exc}", err=True, fg="yellow")
        return
    if not quiet:
        typer.echo(f"status: {state.state} ({where}): {state.short}", err=True)


def _context_mode(value: str | None) -> ContextMode | None:
    from hunkwise.review.context import CONTEXT_MODES

    if value is None:
        return None
    mode = value.strip().lower()
    if mode not in CONTEXT_MODES:
        _usage_error(f"--context must be one of {', '.join(CONTEXT_MODES)}; got {value!r}")
    return mode  # type: ignore[return-value]


def _verify_options(
    options: ReviewOptions, verify: bool | None, min_score: int | None
) -> VerifyOptions | None:
    """``--verify``/``--no-verify`` and ``--min-score`` over the rules file's settings."""
    if verify is None and min_score is None:
        return None
    if min_score is not None and not 0 <= min_score <= 10:
        _usage_error(f"--min-score must be a whole number from 0 to 10; got {min_score}")
    from dataclasses import replace

    base = options.verify_options()
    return replace(
        base,
        enabled=verify if verify is not None else True,  # --min-score alone asks for the pass
        min_score=base.min_score if min_score is None else min_score,
    )


def _usage_error(message: str) -> None:
    from hunkwise.cli.app import UsageError

    raise UsageError(message)


def _recordings(
    record_dir: Path | None, replay_dir: Path | None, *, offline: bool, dry_run: bool
) -> Recordings | None:
    """``--record`` / ``--replay``: checked against the other options, then opened."""
    from hunkwise.cli.review_support import open_recordings

    if replay_dir is not None and offline:
        _usage_error("--replay serves recorded answers instead of a model: drop --offline")
    if (record_dir or replay_dir) and dry_run:
        _usage_error("--dry-run calls no model, so there is nothing to record or replay: drop --dry-run")
    return open_recordings(record_dir, replay_dir)


def _check_options(
    fmt: str,
    min_severity: str | None,
    fail_on: str | None,
    max_findings: int | None,
    min_confidence: float | None,
    diff: str | None,
    base: str | None,
    head: str | None,
    staged: bool,
) -> None:
    from hunkwise.catalog.findings_contract import SEVERITIES

    if fmt not in FORMATS:
        _usage_error(f"--format must be one of {', '.join(FORMATS)}; got {fmt!r}")
    for name, value in (("--min-severity", min_severity), ("--fail-on", fail_on)):
        if value is not None and value.lower() not in SEVERITIES:
            _usage_error(f"{name} must be one of {', '.join(SEVERITIES)}; got {value!r}")
    if max_findings is not None and max_findings < 1:
        _usage_error(f"--max-findings must be at least 1; got {max_findings}")
    if min_confidence is not None and not 0 <= min_confidence <= 1:
        _usage_error(f"--min-confidence must be a number from 0 to 1, such as 0.6; got {min_confidence:g}")
    if diff is not None and (base or head or staged):
        _usage_error("--diff reviews a diff file; it cannot be combined with --base, --head or --staged")


def _remote_change(
    settings: Settings,
    github: bool,
    pr: str | None,
    post: bool,
    no_post: bool,
    api_url: str | None,
    diff: str | None,
    base: str | None,
    head: str | None,
    staged: bool,
) -> RemoteChange | None:
    """Check the remote options and fetch the pull request's diff (``None``: a local review)."""
    if not (github or pr):
        for flag, given in (("--post", post), ("--no-post", no_post), ("--api-url", api_url)):
            if given:
                _usage_error(f"{flag} applies to --github or --pr URL")
        return None
    if github and pr:
        _usage_error("--github reviews the Actions event's pull request; drop --pr (or --github)")
    if diff is not None or base or head or staged:
        _usage_error("--github and --pr fetch the diff from the platform; drop --diff/--base/--head/--staged")
    if pr and no_post:
        _usage_error("--pr posts only with --post; drop --no-post")
    if github and post:
        _usage_error("--github posts by default (--no-post to print only); drop --post")
    from hunkwise.cli.review_remote import (
        NothingToDo,
        RemoteError,
        fetch,
        github_actions_target,
        target_from_url,
    )

    try:
        if github:
            target = github_actions_target(api_url, settings)
        else:
            target = target_from_url(pr or "", api_url, post=post, settings=settings)
        return fetch(target, unless_posted=(github and not no_post) or post)
    except NothingToDo as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(0) from None
    except RemoteError as exc:
        if exc.code == 2:
            _usage_error(str(exc))
        typer.secho(f"error: {exc}", err=True, fg="red")
        raise typer.Exit(exc.code) from None


def _poster(
    remote: RemoteChange, *, quiet: bool, status: StatusPolicy | None = None
) -> Callable[[ReviewReport, int], int]:
    """After the report is printed: post it, and turn a posting failure into exit 3; then the
    merge status (``status``: its policy; None: none is set)."""

    def after(report: ReviewReport, code: int) -> int:
        code = _post_report(report, code)
        if status is not None:
            from hunkwise.jobs.review_status import final

            _show_status(remote, final(report, status), quiet=quiet)
        return code

    def _post_report(report: ReviewReport, code: int) -> int:
        from hunkwise.cli.review_remote import RemoteError, post, should_post

        if reason := should_post(report):
            typer.secho(f"not posted: {reason}", err=True, fg="yellow")
            return code
        try:
            post(remote, report, quiet=quiet)
        except RemoteError as exc:
            typer.secho(f"error: {exc}", err=True, fg="red")
            return max(code, exc.code)  # 3: wins over 1, the gate must see it was not posted
        return code

    return after


def _read_change(diff: str | None, base: str | None, head: str | None, staged: bool) -> LocalChange:
    from hunkwise.platforms.local_git import GitInputError, read_diff_file, read_git_change

    try:
        if diff is not None:
            return read_diff_file(diff)
        return read_git_change(Path.cwd(), base=base, head=head, staged=staged)
    except GitInputError as exc:
        _usage_error(str(exc))
        raise  # unreachable: keeps type checkers honest


def _options(
    settings: Settings,
    change: LocalChange,
    config: ReviewConfig,
    min_severity: str | None,
    max_findings: int | None,
    min_confidence: float | None,
    dry_run: bool,
    offline: bool,
) -> ReviewOptions:
    from hunkwise.cli.review_support import load_estimator
    from hunkwise.review.engine import ReviewOptions
    from hunkwise.review.rules import RepoRules

    return ReviewOptions(
        rules=RepoRules.from_config(config),  # its [review] settings apply where a flag is not given
        min_severity=min_severity.lower() if min_severity else None,  # type: ignore[arg-type]
        max_findings=max_findings,
        min_confidence=min_confidence,
        dry_run=dry_run,
        # Offline too: it rehearses the real run, which would stop at the same estimate.
        max_cost=config.max_cost,
        estimator=load_estimator(settings),
        source="offline-simulator" if offline else "llm",
        change=change.description.as_dict(),
    )


def _run(
    settings: Settings,
    change: LocalChange,
    options: ReviewOptions,
    flags: dict[str, Any],
    profile: str | None,
    files: ConfigFiles,
    *,
    fmt: str,
    output: Path | None,
    quiet: bool,
    fail_on: str | None,
    ledger_source: str | None = None,
    after: Callable[[ReviewReport, int], int] | None = None,
    recordings: Recordings | None = None,
) -> int:
    from hunkwise.cli.review_support import keyed_for_replay, offline_model, record, report_misses
    from hunkwise.cli.slot_options import print_notes, resolve
    from hunkwise.config.outbound import sdk_transports
    from hunkwise.config.review_settings import review_config
    from hunkwise.review.errors import ReviewInputError

    offline = options.source == "offline-simulator"
    replay = recordings is not None and recordings.mode == "replay"
    fail_on = (fail_on or options.rules.settings.fail_on or "").lower() or None
    try:
        if offline:
            model = offline_model()
            report = _execute(
                change, model.slots, options, quiet=quiet, state=None, recordings=recordings,
                transport=model.transport,
            )  # fmt: skip
        else:
            # A dry run calls nothing, so it plans without a key (and without any model configured:
            # for the default card); the notes say which model it planned for. A replay calls
            # nothing either: it needs no key.
            need_key = not (options.dry_run or replay)
            cfg = resolve(profile, flags, settings=settings, files=files, require_key=need_key)
            if not quiet:
                print_notes(cfg.notes)
            slots = keyed_for_replay(cfg.slots) if replay else list(cfg.slots)
            state = None if replay else settings.state_path  # a replay must not open real circuits
            spread = review_config(files, settings=settings).settings.spill == "to-finish-faster"
            # Through the configured proxy and CA bundle (None: the SDK's defaults).
            network = None if replay else sdk_transports(settings.network)
            report = _execute(
                change, slots, options, quiet=quiet, state=state, recordings=recordings, spread=spread,
                transport=network,
            )  # fmt: skip
    except ReviewInputError as exc:
        _usage_error(str(exc))
    if recordings is not None:
        report_misses(recordings, quiet=quiet)
    if not options.dry_run and report.plan and not replay:  # a replay spends nothing: no ledger
        source = "offline" if offline else ("diff" if change.description.source_file else "local")
        source = ledger_source if ledger_source and not offline else source
        record(report, source=source, settings=settings)
    _emit(report, fmt, output, quiet=quiet)
    if options.dry_run:
        return 0
    if problem := _configuration_failure(report):
        typer.secho(f"error: {problem}", err=True, fg="red")
        return 2
    code = report.exit_code(fail_on)  # type: ignore[arg-type]
    return after(report, code) if after is not None else code


def _configuration_failure(report: ReviewReport) -> str | None:
    """When no request succeeded and every failure is one retrying can never fix (a bad key, an
    unknown model), the run is a configuration error (exit 2), not an incomplete review (3)."""
    from hunkwise.gateway import SKIPPED_OUTCOMES, ErrorKind

    if not report.failed_chunks or any(c.ok for c in report.calls):
        return None
    kinds = {c.outcome for c in report.calls if c.outcome not in SKIPPED_OUTCOMES}
    known = {k.value for k in ErrorKind}
    # A slot skipped for an open circuit was not called, but its chunk's failure says why: a bad
    # key that an earlier run (or chunk) met has a configuration circuit, and is still a bad key.
    kinds |= {k for f in report.failed_chunks for k in f.kinds if k in known}
    if kinds and kinds <= known and all(ErrorKind(k).is_configuration for k in kinds):
        return f"no request could be served: {report.failed_chunks[0].detail}"
    return None


def _execute(
    change: LocalChange,
    slots: list[Slot],
    options: ReviewOptions,
    *,
    quiet: bool,
    state: Path | None,
    recordings: Recordings | None = None,
    transport: Callable[[Slot], Any] | None = None,
    spread: bool = False,
) -> ReviewReport:
    """A dry run plans without a router (no client is built, so no key is needed). ``spread``:
    ``spill = "to-finish-faster"`` under ``[review]``: chunks on Main and Fallback at once."""
    import asyncio  # here, like every command's heavy imports: ``hunkwise --help`` does not load it

    if options.dry_run:
        from hunkwise.review.engine import plan_only

        return plan_only(change.diff, slots, options)
    return asyncio.run(
        _review(
            change, slots, options, quiet=quiet, state=state, recordings=recordings, transport=transport,
            spread=spread,
        )
    )  # fmt: skip


async def _review(
    change: LocalChange,
    slots: list[Slot],
    options: ReviewOptions,
    *,
    quiet: bool,
    state: Path | None,
    recordings: Recordings | None = None,
    transport: Callable[[Slot], Any] | None = None,
    spread: bool = False,
) -> ReviewReport:
    """``state``: where circuit state is shared with other runs on this machine (real slots);
    None keeps it in memory (the offline simulator's). ``transport``: how the SDK clients reach
    their endpoint (the offline simulator's, in process); ``--record`` wraps it."""
    from rich.console import Console

    from hunkwise.cli.review_progress import ReviewProgress
    from hunkwise.cli.startup import resume_collector
    from hunkwise.gateway import ClientPool, LocalBackend, Router
    from hunkwise.review.engine import run_review

    console = Console(stderr=True)
    progress = ReviewProgress(console) if (console.is_terminal and not quiet) else None
    backend = LocalBackend(state)
    factory = recordings.transport_factory(transport) if recordings else transport
    clients = ClientPool(transport_factory=factory) if factory else None
    on_event = progress.on_event if progress else None
    router = Router(slots, backend=backend, clients=clients, on_event=on_event, spread=spread)
    resume_collector()  # the SDK is imported (Router warms its clients): the review starts
    try:
        return await run_review(change.diff, router, options, progress=progress)
    finally:
        if progress is not None:
            progress.stop()
        await router.aclose()
        if clients is not None:
            await clients.aclose()
        await backend.aclose()


def _emit(report: ReviewReport, fmt: str, output: Path | None, *, quiet: bool) -> None:
    from rich.console import Console

    from hunkwise.review.reports import render
    from hunkwise.review.reports.plan import render_plan

    empty = not report.plan and not report.skipped
    if empty and fmt == "text" and output is None:
        typer.echo(NOTHING)
        return
    if empty and not quiet:
        typer.echo(NOTHING, err=True)
    if report.dry_run and fmt == "text":
        text = render_plan(report)
    else:
        console = Console()
        color = output is None and console.is_terminal
        text = render(report, fmt, color=color, width=console.width if color else 100)  # type: ignore[arg-type]
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        _usage_error(f"--output {output}: cannot write the report ({exc.strerror or exc})")
    if not quiet:
        typer.echo(f"report written to {output}", err=True)
