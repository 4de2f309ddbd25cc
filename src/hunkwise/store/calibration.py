"""Per-model token calibration: how many characters of prompt make one token.

The review engine estimates tokens from text (GLM has its own tokenizer, and ``tiktoken`` needs the
internet), then compares its estimate with the ``prompt_tokens`` the provider reports. After a run it
saves what it observed here; the next run loads the ratios and packs closer to the real budget.

Saving merges, it does not overwrite: the stored ratio is a running mean weighted by sample count,
with the stored weight capped at :data:`MAX_WEIGHT` so the ratio keeps following a provider that
changes its tokenizer. The merge is one atomic ``INSERT .. ON CONFLICT DO UPDATE`` so two
concurrent reviews both count.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from hunkwise.store.db import Db, is_sqlite, upsert_insert, use_session
from hunkwise.store.tables import TokenCalibration, utcnow

MAX_WEIGHT = 500
"""Samples' worth of weight the stored ratio keeps when a new observation is merged in."""


@dataclass(frozen=True, slots=True)
class Calibration:
    """A model's learned characters-per-token ratio; kept with its sample count so one odd review cannot swing
    the estimate, and its time so stale figures can be told apart.
    """

    model: str
    chars_per_token: float
    samples: int
    updated_at: datetime


def load_ratios(db: Db) -> dict[str, float]:
    """Characters per token by model id, for every model observed so far."""
    with use_session(db) as session:
        rows = session.execute(select(TokenCalibration.model, TokenCalibration.chars_per_token))
        return {model: float(ratio) for model, ratio in rows}


def load_calibration(db: Db) -> list[Calibration]:
    """The full calibration table (with sample counts and times), for diagnostics."""
    with use_session(db) as session:
        rows = session.scalars(select(TokenCalibration).order_by(TokenCalibration.model))
        return [Calibration(r.model, r.chars_per_token, r.samples, r.updated_at) for r in rows]


def save_ratios(db: Db, ratios: Mapping[str, float], samples: int | Mapping[str, int]) -> None:
    """Merge observed ratios into the stored ones.

    ``ratios[model]`` is the characters-per-token ratio observed over ``samples`` calls (one count
    for every model, or a mapping per model). Observations with no samples are ignored; a ratio
    that is not a positive finite number raises ``ValueError`` naming the model.
    """
    batch: list[tuple[str, float, int]] = []
    for model, ratio in ratios.items():
        n = samples.get(model, 0) if isinstance(samples, Mapping) else samples
        if not isinstance(ratio, int | float) or not math.isfinite(ratio) or ratio <= 0:
            raise ValueError(f"calibration ratio for {model!r} must be a positive number, got {ratio!r}")
        if n < 0:
            raise ValueError(f"calibration samples for {model!r} must not be negative, got {n}")
        if n:
            batch.append((model, float(ratio), int(n)))
    if not batch:
        return
    now = utcnow()
    with use_session(db, write=True) as session:
        insert, on_sqlite = upsert_insert(session), is_sqlite(session)
        table = TokenCalibration.__table__
        for model, ratio, n in batch:
            stmt = insert(table).values(model=model, chars_per_token=ratio, samples=n, updated_at=now)
            weight = (
                func.min(table.c.samples, MAX_WEIGHT)
                if on_sqlite
                else func.least(table.c.samples, MAX_WEIGHT)
            )
            merged = (table.c.chars_per_token * weight + stmt.excluded.chars_per_token * n) / (weight + n)
            session.execute(
                stmt.on_conflict_do_update(
                    index_elements=[table.c.model],
                    set_={
                        "chars_per_token": merged,
                        "samples": table.c.samples + stmt.excluded.samples,
                        "updated_at": stmt.excluded.updated_at,
                    },
                )
            )
