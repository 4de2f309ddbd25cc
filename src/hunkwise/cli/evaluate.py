"""``hunkwise eval``: measure review configurations on a dataset of cases with known issues.

Parse, build each configuration (the same loader and resolution ``review`` uses), hand them to
:mod:`hunkwise.evaluation`, print the side-by-side table or JSON. Exit codes: 0 done, 2 bad
dataset, configuration or option, 3 some reviews were incomplete (failed chunks, missing
recordings): the figures are printed either way, and count what those reviews missed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from hunkwise.config.files import ConfigFile, ConfigFiles
    from hunkwise.config.settings import Settings
    from hunkwise.evaluation.cache import ResultCache
    from hunkwise.evaluation.dataset import Dataset
    from hunkwise.evaluation.judge import Judge
    from hunkwise.evaluation.runner import ConfigUnderTest, EvalResult
    from hunkwise.gateway import ClientPool, Recordings, Router, Slot

OFFLINE_HINT = "to measure the pipeline without a model, use --offline; --replay DIR needs no key"


def register(app: typer.Typer) -> None:
    app.command("eval")(eval_command)


def eval_command(
    dataset: Path = typer.Argument(
        ..., help="A directory of cases (<id>/case.json + change.diff) or a JSONL file.", show_default=False
    ),
    config: list[Path] = typer.Option(
        [], "--config", "-c", help="A .hunkwise.toml-style file to measure; repeat to compare several."
    ),
    offline: bool = typer.Option(False, "--offline", help="The built-in simulator plays every model."),
    replay_dir: Path | None = typer.Option(
        None, "--replay", help="Serve answers recorded with --record: no network, no key."
    ),
    record_dir: Path | None = typer.Option(
        None, "--record", help="Store every raw model answer in this directory."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
    tolerance: int = typer.Option(3, "--tolerance", help="Lines a finding may be off its issue and match."),
    judge: bool = typer.Option(
        False, "--judge", help="Also ask a model whether each matched pair is the same problem."
    ),
    judge_config: Path | None = typer.Option(
        None, "--judge-config", help="The judge's config file (default: your usual configuration)."
    ),
    cache_dir: Path = typer.Option(
        Path(".hunkwise-eval-cache"), "--cache", help="Where results are cached, so a run resumes."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Review every case again; cache nothing."),
    jobs: int = typer.Option(
        1, "--jobs", "-j", help="Cases reviewed at once per config (1 keeps each latency its own)."
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar and no notes."),
) -> None:
    """Review every case of DATASET with each --config and compare precision, recall, F1, noise, tokens, cost and latency side by side."""  # noqa: E501
    import asyncio

    from hunkwise.cli.review_support import open_recordings, report_misses
    from hunkwise.cli.slot_options import friendly_errors, read_settings
    from hunkwise.evaluation.dataset import load_dataset

    with friendly_errors(no_model_hint=OFFLINE_HINT):
        settings = read_settings()
        _check(offline, replay_dir, tolerance, judge, judge_config)
        if jobs < 1:
            _usage_error(f"--jobs is how many cases are reviewed at once, 1 or more; got {jobs}")
        data = load_dataset(dataset)
        recordings = open_recordings(record_dir, replay_dir)
        mode = "simulator" if offline else ("replay" if replay_dir is not None else "llm")
        files = [_config_files(settings, path) for path in config] or [_default_files(settings)]
        judge_files = _judge_files(settings, judge_config) if judge else None
        with ExitStack() as stack:
            sim_slots = stack.enter_context(_offline()) if offline else None
            configs = _configs(settings, config, files, mode, sim_slots, quiet=quiet or as_json)
            cache = None if (no_cache or recordings is not None) else _cache(cache_dir)
            result = asyncio.run(
                _evaluate(
                    data, configs, mode, tolerance, cache, recordings, judge_files, settings,
                    sim_slots, quiet=quiet or as_json, jobs=jobs,
                )
            )  # fmt: skip
    if recordings is not None:
        report_misses(recordings, quiet=quiet)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), indent=2) + "\n")
    else:
        from hunkwise.evaluation.table import render_markdown

        sys.stdout.write(render_markdown(result))
    sys.stdout.flush()
    if result.incomplete:
        typer.secho(
            f"error: {result.incomplete} review(s) incomplete (failed chunks count their issues as "
            "missed); see per_case in --json",
            err=True,
            fg="red",
        )
        raise typer.Exit(3)


def _usage_error(message: str) -> None:
    from hunkwise.cli.app import UsageError

    raise UsageError(message)


def _check(
    offline: bool, replay_dir: Path | None, tolerance: int, judge: bool, judge_config: Path | None
) -> None:
    if offline and replay_dir is not None:
        _usage_error("--offline and --replay exclude each other: the simulator answers, or recordings do")
    if tolerance < 0:
        _usage_error(f"--tolerance is a number of lines, 0 or more; got {tolerance}")
    if judge_config is not None and not judge:
        _usage_error("--judge-config names the judge's configuration: add --judge")
    if judge_config is not None and offline:
        _usage_error("--offline: the simulator is the judge too; drop --judge-config")


def _config_files(settings: Settings, path: Path) -> ConfigFiles:
    """The user file (keys, price overrides) under the measured file, as ``review`` reads a
    repository file over the user file; the measured file is read as a repository file, so it
    may only reference keys (``api_key_env``), like a committed one."""
    from hunkwise.config.files import ConfigFiles, read_config_file

    if not path.is_file():
        _usage_error(f"--config {path}: no such file")
    chosen: list[ConfigFile] = []
    user = settings.user_config
    if user.is_file() and user.resolve() != path.resolve():
        chosen.append(read_config_file(user, "user"))
    chosen.append(read_config_file(path, "repo"))
    return ConfigFiles(chosen)


def _default_files(settings: Settings) -> ConfigFiles:
    from hunkwise.config.files import load_config_files

    return load_config_files(settings)


def _judge_files(settings: Settings, path: Path | None) -> ConfigFiles:
    return _config_files(settings, path) if path is not None else _default_files(settings)


@contextmanager
def _offline() -> Iterator[list[Slot]]:
    from hunkwise.cli.review_support import offline_slots

    with offline_slots() as slots:
        yield slots


def _names(paths: list[Path]) -> list[str]:
    """Column names: the file stems, or the paths when two stems collide."""
    stems = [p.stem for p in paths]
    return [s if stems.count(s) == 1 else str(p) for s, p in zip(stems, paths, strict=True)]


def _slots(
    settings: Settings,
    files: ConfigFiles,
    mode: str,
    sim_slots: list[Slot] | None,
    *,
    name: str = "",
    quiet: bool = True,
) -> list[Slot]:
    from hunkwise.cli.review_support import keyed_for_replay
    from hunkwise.cli.slot_options import print_notes, resolve

    if mode == "simulator":
        assert sim_slots is not None
        return list(sim_slots)
    cfg = resolve(None, {}, settings=settings, files=files, require_key=mode != "replay")
    if mode == "replay":  # its notes would only say that no key is set, which a replay needs not
        return keyed_for_replay(cfg.slots)
    if not quiet:
        print_notes([f"{name}: {note}" for note in cfg.notes])
    return list(cfg.slots)


def _configs(
    settings: Settings,
    paths: list[Path],
    all_files: list[ConfigFiles],
    mode: str,
    sim_slots: list[Slot] | None,
    *,
    quiet: bool,
) -> list[ConfigUnderTest]:
    from hunkwise.config.review_settings import review_config
    from hunkwise.evaluation.runner import ConfigUnderTest, config_digest
    from hunkwise.review.engine import ReviewOptions
    from hunkwise.review.rules import RepoRules

    names = _names(paths) if paths else ["simulator" if mode == "simulator" else "default"]
    out: list[ConfigUnderTest] = []
    for name, path, files in zip(names, paths or [None], all_files, strict=True):
        reviewing = review_config(files, settings=settings)
        options = ReviewOptions(
            rules=RepoRules.from_config(reviewing),  # [review] and [[rules]], as `review` applies them
            max_cost=reviewing.max_cost,
            source="offline-simulator" if mode == "simulator" else "llm",
        )
        slots = _slots(settings, files, mode, sim_slots, name=name, quiet=quiet)
        digest = config_digest([f.raw for f in files], slots, mode)
        out.append(ConfigUnderTest(name, tuple(slots), options, digest, str(path) if path else None))
    return out


def _cache(directory: Path) -> ResultCache:
    from hunkwise.evaluation.cache import ResultCache

    return ResultCache(directory)


async def _evaluate(
    data: Dataset,
    configs: list[ConfigUnderTest],
    mode: str,
    tolerance: int,
    cache: ResultCache | None,
    recordings: Recordings | None,
    judge_files: ConfigFiles | None,
    settings: Settings,
    sim_slots: list[Slot] | None,
    *,
    quiet: bool,
    jobs: int,
) -> EvalResult:
    from hunkwise.config.outbound import sdk_transports
    from hunkwise.evaluation.runner import evaluate
    from hunkwise.gateway import ClientPool

    network = sdk_transports(settings.network)  # the configured proxy and CA bundle, if any
    factory = recordings.transport_factory(network) if recordings else network
    clients = ClientPool(transport_factory=factory) if factory is not None else None
    progress = _progress(quiet)
    judge: Judge | None = None
    judge_router: Router | None = None
    judge_label: str | None = None
    try:
        if judge_files is not None:
            judge, judge_router, judge_label = _judge(settings, judge_files, mode, sim_slots, clients, cache)
        with progress if progress is not None else _nothing():
            return await evaluate(
                data, configs, source=mode, tolerance=tolerance, cache=cache, clients=clients,
                judge=judge, judge_label=judge_label, progress=progress, jobs=jobs,
            )  # fmt: skip
    finally:
        if judge_router is not None:
            await judge_router.aclose()
        if clients is not None:
            await clients.aclose()


def _judge(
    settings: Settings,
    files: ConfigFiles,
    mode: str,
    sim_slots: list[Slot] | None,
    clients: ClientPool | None,
    cache: ResultCache | None,
) -> tuple[Judge, Router, str]:
    from hunkwise.evaluation.judge import Judge
    from hunkwise.evaluation.runner import config_digest
    from hunkwise.gateway import Router

    slots = _slots(settings, files, mode, sim_slots)
    router = Router(slots, clients=clients)
    label = f"{slots[0].provider}/{slots[0].model}" + (" (simulator)" if mode == "simulator" else "")
    return Judge(router, config_digest([f.raw for f in files], slots, mode), cache), router, label


@contextmanager
def _nothing() -> Iterator[None]:
    yield


class _Bar:
    """The Rich progress bar on stderr, fed by the evaluation's progress calls."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._task: TaskID | None = None

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def started(self, total: int) -> None:
        self._task = self._progress.add_task("reviewing cases", total=total)

    def case_done(self, config: str, case_id: str, *, cached: bool) -> None:
        if self._task is not None:
            note = " (cached)" if cached else ""
            self._progress.update(self._task, advance=1, description=f"{config}: {case_id}{note}")


def _progress(quiet: bool) -> _Bar | None:
    """A bar only for a person watching: not with --json or --quiet, not when stderr is a pipe."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        return None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return _Bar(Progress(*columns, console=console, transient=True))
