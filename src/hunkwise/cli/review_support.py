"""What ``hunkwise review`` needs around the engine: the offline model, the usage ledger, and
token calibration. Kept apart from the command so the command module stays a thin
parse-call-print layer.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

    from hunkwise.config.settings import Settings
    from hunkwise.gateway import Attempt, Recordings, Slot
    from hunkwise.platforms.local_git import LocalChange
    from hunkwise.review.context import HeadFiles
    from hunkwise.review.report import ReviewReport
    from hunkwise.review.tokens import TokenEstimator
    from hunkwise.sim import SimConfig

OFFLINE_KEY = "hunkwise-offline-simulator-key"
OFFLINE_MODEL = "glm-5.1"
# The SDK clients refuse to be built without a key, even when a replay never sends it anywhere.
REPLAY_PLACEHOLDER_KEY = "hunkwise-replay-needs-no-key"


OFFLINE_BASE_URL = "http://hunkwise-simulator/api/paas/v4"
"""Where ``review --offline``'s slot points: a name only, never resolved; the SDK client's
transport is the simulator app itself (:func:`offline_model`)."""


def _offline_slot(base_url: str) -> Slot:
    """GLM-5.1 on the Developer API, answered by the simulator. Prices are the catalog's, so
    costs show what the review would cost for real; the slot says ``simulated`` so the ledger
    records those costs as simulated, never as spend."""
    from hunkwise.catalog import load_catalog
    from hunkwise.gateway import Secret, Slot

    card = load_catalog().card(OFFLINE_MODEL)
    assert card is not None, "the catalog lost its default GLM card"
    return Slot(
        name="main",
        provider="zai",
        base_url=base_url,
        model=card.id,
        api_key=Secret(OFFLINE_KEY),
        plan="developer",
        context_window=card.context_window,
        input_price=card.input_price,
        output_price=card.output_price,
        cached_input_price=card.cached_input_price,
        timeout_s=60.0,
        simulated=True,
    )


def _offline_config() -> SimConfig:
    from hunkwise.sim import KeyConfig, SimConfig

    return SimConfig(keys=(KeyConfig(key=OFFLINE_KEY, kind="developer"),))


@dataclass(frozen=True)
class OfflineModel:
    """The slot ``review --offline`` reviews with, and how its SDK client reaches the simulator."""

    slots: list[Slot]
    transport: Callable[[Slot], Any]
    """A ``ClientPool`` transport factory: each client's requests go to the simulator app."""


def offline_model() -> OfflineModel:
    """The offline slot, answered by the simulator app in this process.

    The SDK client is the real one (the request goes through the gateway's wire, the SDK and its
    HTTP client, as any review's does, and ``--record`` can wrap it), but its transport hands each
    request to the simulator's ASGI app instead of a socket: no server thread, no port, nothing
    leaves the process, no key is needed. Before, a uvicorn server on a loopback port was started
    for every run, a cost paid in every pre-commit hook (BENCHMARKS.md, "Start-up").
    """
    import httpx2

    from hunkwise.sim import create_app

    app = create_app(_offline_config())
    # A client given its own transport ignores proxy variables, so nothing is routed off the host.
    return OfflineModel(
        slots=[_offline_slot(OFFLINE_BASE_URL)], transport=lambda slot: httpx2.ASGITransport(app=app)
    )


@contextmanager
def offline_slots() -> Iterator[list[Slot]]:
    """The offline slot pointed at a simulator on a loopback port (a server thread in this
    process), for callers that need a real URL (``hunkwise eval``); ``review`` uses
    :func:`offline_model`. Nothing leaves the machine and no key is needed."""
    from hunkwise.sim import SimulatorServer

    with SimulatorServer(_offline_config()) as server:
        yield [_offline_slot(server.zai_developer_url)]


def open_recordings(record_dir: Path | None, replay_dir: Path | None) -> Recordings | None:
    """``--record DIR`` / ``--replay DIR`` of ``review`` and ``eval``: one of them, opened."""
    from hunkwise.errors import ConfigurationError
    from hunkwise.gateway import Recordings

    if record_dir is not None and replay_dir is not None:
        raise ConfigurationError(
            "--record and --replay exclude each other: record a run first, then replay it",
            setting="--replay",
        )
    if replay_dir is not None:
        return Recordings(replay_dir, "replay")
    if record_dir is not None:
        return Recordings(record_dir, "record")
    return None


def keyed_for_replay(slots: Iterable[Slot]) -> list[Slot]:
    """Slots resolved without a key get a placeholder one: a replay's transport never sends it
    (nor any request), but the SDK client will not be built without some key."""
    import dataclasses

    from hunkwise.gateway import Secret

    return [s if s.api_key else dataclasses.replace(s, api_key=Secret(REPLAY_PLACEHOLDER_KEY)) for s in slots]


def report_misses(recordings: Recordings, *, quiet: bool) -> None:
    """After a replay, name every request that had no recording (their chunks failed); after a
    recording, say where the answers went."""
    if recordings.mode == "record":
        if not quiet:
            distinct = len(recordings.keys)
            _warn(f"recorded {recordings.recorded} answer(s) ({distinct} distinct) in {recordings.directory}")
        return
    misses = recordings.misses
    if not misses:
        if not quiet:
            _warn(f"replayed {recordings.served} answer(s) from {recordings.directory}; no network used")
        return
    print(
        f"replay: {len(misses)} request(s) had no recording in {recordings.directory} "
        "(their chunks are failed, not reviewed):",
        file=sys.stderr,
    )
    for miss in misses:
        print(f"  - {miss.describe()}", file=sys.stderr)


def _warn(message: str) -> None:
    print(f"note: {message}", file=sys.stderr)


def load_estimator(settings: Settings) -> TokenEstimator:
    """The token estimator with the calibration stored by earlier reviews (defaults if none)."""
    from hunkwise.review.tokens import TokenEstimator

    try:
        from hunkwise.store import database_url, load_ratios, open_store

        return TokenEstimator.from_ratios(load_ratios(open_store(database_url(settings))))
    except Exception as exc:  # the ledger is a convenience: never block a review on it
        _warn(f"token calibration not loaded ({type(exc).__name__}: {exc}); using defaults")
        return TokenEstimator()


def record(report: ReviewReport, *, source: str, settings: Settings) -> None:
    """Store the run, its calls and the calibration samples in the usage ledger."""
    try:
        from hunkwise.store import RunRecord, database_url, open_store, record_run, save_ratios

        engine = open_store(database_url(settings))
        change = report.change
        run = RunRecord(
            source=source,
            status="done" if report.complete else "incomplete",
            repository=change.get("repo_root"),
            ref=change.get("summary"),
            files_reviewed=report.files_reviewed,
            lines_reviewed=report.lines_reviewed,
            findings=report.counts_by_severity(),
            failed_chunks=len(report.failed_chunks),
            skipped_lines=report.skipped_lines,
            duration_ms=int(report.duration_s * 1000),
            simulated=report.simulated,
        )
        record_run(engine, run, report.calls)
        samples = {m: v[2] for m, v in report.calibration.items() if v[1] > 0}
        ratios = {m: report.calibration[m][0] / report.calibration[m][1] for m in samples}
        if ratios:
            save_ratios(engine, ratios, samples)
    except Exception as exc:  # the review itself succeeded; say so and move on
        _warn(f"usage not recorded ({type(exc).__name__}: {exc})")


def record_calls_only(attempts: Iterable[Attempt], *, settings: Settings) -> None:
    """Store the calls of a request made outside a review (``hunkwise chat``) in the ledger.

    They count against Coding Plan windows like any prompt: a user chatting on the same key
    spends the same window their reviews do. A store failure is one note on stderr, never a
    failed command: the answer was already printed.
    """
    try:
        from hunkwise.store import database_url, open_store, record_calls

        calls = list(attempts)
        if not calls:
            return
        engine = open_store(database_url(settings))
        try:
            record_calls(engine, calls)
        finally:
            engine.dispose()
    except Exception as exc:
        _warn(f"usage not recorded ({type(exc).__name__}: {exc})")


def head_files(change: LocalChange, cwd: Path) -> HeadFiles:
    """Where a local change's head-revision files are, for code context: the reviewed commit, the
    index for ``--staged``, the working tree for a diff file (checked line by line against the
    diff before use, so a tree at another revision costs context, never correctness)."""
    from pathlib import Path

    from hunkwise.platforms.local_git import GitHead, GitInputError, repo_root
    from hunkwise.review.context import DirectoryHead

    d = change.description
    if d.kind == "staged" and d.repo_root:
        return GitHead(Path(d.repo_root), "")
    if d.head_sha and d.repo_root:
        return GitHead(Path(d.repo_root), d.head_sha)
    try:
        return DirectoryHead(repo_root(cwd))
    except GitInputError:
        return DirectoryHead(cwd)
