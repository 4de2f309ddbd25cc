"""The cyclic garbage collector while a command starts.

A command's start-up is mostly imports, and what they build lives until the process ends: the
openai SDK alone makes ~700 pydantic model classes, SQLAlchemy and the server's libraries
thousands of classes, functions and dicts. While that heap grows, CPython runs a full collection
each time it has grown by a quarter, walking every object made so far, and frees next to nothing:
5-10% of the CPU of a ``hunkwise review --offline`` (BENCHMARKS.md, "Start-up"). That command runs
in pre-commit hooks, and the test suite starts well over a hundred ``review``, ``serve`` and
``worker`` processes.

So those commands pause the collector while they import and set up (:func:`pause_collector`),
then freeze what they built (moved to a generation no collection walks again) and resume it
before their real work (:func:`resume_collector`), where it runs as usual. Only a process started
by :func:`hunkwise.cli.app.main` pauses (:func:`arm`): a command invoked in another process's
interpreter (``CliRunner`` in the tests) leaves that interpreter's collector alone.
"""

from __future__ import annotations

import gc


class _CollectorPause:
    armed = False
    paused = False


def arm() -> None:
    """This interpreter is a ``hunkwise`` process of its own: commands may pause its collector."""
    _CollectorPause.armed = True


def pause_collector() -> None:
    """Stop automatic collections until :func:`resume_collector` (only in an armed process, and
    only if the collector was on)."""
    if _CollectorPause.armed and not _CollectorPause.paused and gc.isenabled():
        gc.disable()
        _CollectorPause.paused = True


def resume_collector() -> None:
    """Freeze the objects made so far and collect automatically again. Idempotent, and a no-op
    when nothing was paused; :func:`hunkwise.cli.app.main` calls it on the way out as well."""
    if _CollectorPause.paused:
        gc.freeze()
        gc.enable()
        _CollectorPause.paused = False
