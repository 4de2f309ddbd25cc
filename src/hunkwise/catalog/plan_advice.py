"""Plan advice: what a period's real model calls cost, or would have cost, on Z.AI's Developer API
and on each GLM Coding Plan tier, and which to choose.

A pure function (:func:`advise`) over call rows and a catalog: no database, no clock, so it is
tested with hand-built rows and any caller (the CLI, the API, the console) feeds it the same way.
The store's :func:`hunkwise.store.ledger.advice_calls` reads the rows from the usage ledger.

How each option is priced:

- **Developer API**: every call at its model's per-token prices (cached input tokens at the cached
  price where the catalog has one), by :func:`hunkwise.catalog.loader.price_usd`, the rule the
  gateway prices the ledger with, so for Developer API traffic the two agree.
- **Coding Plan tier**: the tier's monthly fee prorated to the period, plus the calls the tier's
  windows would have refused. The calls are replayed in time order through a rolling 5-hour and a
  rolling weekly window; each prompt weighs the peak-hour multiplier in force at its timestamp
  (the catalog's ``[peak_hours]``). A prompt that does not fit either window *spills* to the
  Fallback and is priced there (the Fallback model's prices, or the call's own Developer API price
  when no Fallback model is named).
- Calls to models the Coding Plan does not cover (OpenAI, Anthropic, ...) cost the same under every
  option; they are reported apart and added to every total so the totals stay comparable.
- Calls to a model the catalog does not know cannot be priced: they are listed by model and left
  out of every figure, never guessed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from hunkwise.catalog.loader import Catalog, ModelCard, Tier

FIVE_HOURS = timedelta(hours=5)
WEEK = timedelta(days=7)
DAYS_PER_MONTH = 365.25 / 12  # a "month" of fee: the average calendar month
CODING_PLAN = "coding"
DEVELOPER = "developer"
# What counts as a prompt against a Coding Plan window: an answered call, and a call that timed out
# (the provider likely ran it to the end). Rejected calls did not consume a prompt.
QUOTA_CONSUMING_OUTCOMES: tuple[str, ...] = ("ok", "timeout")
QUOTA_WINDOW_OUTCOME = "quota_window"  # the provider said a window was spent (1308/1310/...)


@dataclass(frozen=True, slots=True)
class CallRow:
    """One model call as the ledger stored it: enough to price it and to replay it through windows."""

    at: datetime  # aware; when the call started
    provider: str
    model: str
    outcome: str
    input_tokens: int = 0  # includes the cached part
    output_tokens: int = 0  # includes reasoning
    cached_tokens: int = 0
    cost_usd: float = 0.0  # as the ledger priced it when the call was made
    plan: str | None = None  # the Z.AI plan that served it, if any
    simulated: bool = False


@dataclass(slots=True)
class _Totals:
    calls: int = 0
    input_tokens: int = 0
    cached_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    ledger_cost_usd: float = 0.0

    def add(self, row: CallRow, cost: float) -> None:
        self.calls += 1
        self.input_tokens += row.input_tokens
        self.cached_tokens += row.cached_tokens
        self.output_tokens += row.output_tokens
        self.cost_usd += cost
        self.ledger_cost_usd += row.cost_usd

    def as_dict(self, key: str, name: str) -> dict[str, Any]:
        return {
            key: name,
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "cached_tokens": self.cached_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": _usd(self.cost_usd),
            "ledger_cost_usd": _usd(self.ledger_cost_usd),
        }


@dataclass(frozen=True, slots=True)
class TierOutcome:
    """One Coding Plan tier replayed over the period."""

    tier: Tier
    fee_period_usd: float
    prompts: int  # eligible prompts replayed
    spilled_calls: int
    spilled_cost_usd: float
    peak_5h_used: float  # the most window units ever in use in one 5-hour window
    peak_week_used: float
    first_spill_at: datetime | None
    other_cost_usd: float  # calls outside the Coding Plan, paid per token anyway
    days: float

    @property
    def holds(self) -> bool:
        """Whether both windows would have held every prompt (nothing spilled to the Fallback)."""
        return self.spilled_calls == 0

    @property
    def total_usd(self) -> float:
        return self.fee_period_usd + self.spilled_cost_usd + self.other_cost_usd

    def as_dict(self) -> dict[str, Any]:
        t = self.tier
        return {
            "tier": t.id,
            "display_name": t.display_name,
            "fee_usd_month": t.price_usd_month,
            "fee_usd_period": _usd(self.fee_period_usd),
            "prompts_5h": t.prompts_5h,
            "prompts_week": t.prompts_week,
            "prompts": self.prompts,
            "holds": self.holds,
            "spilled_calls": self.spilled_calls,
            "spilled_cost_usd": _usd(self.spilled_cost_usd),
            "first_spill_at": self.first_spill_at.isoformat() if self.first_spill_at else None,
            "peak_5h_used": round(self.peak_5h_used, 2),
            "peak_5h_percent": _percent(self.peak_5h_used, t.prompts_5h),
            "peak_week_used": round(self.peak_week_used, 2),
            "peak_week_percent": _percent(self.peak_week_used, t.prompts_week),
            "other_providers_usd": _usd(self.other_cost_usd),
            "total_usd": _usd(self.total_usd),
            "monthly_usd": _usd(self.total_usd * DAYS_PER_MONTH / self.days),
            "source": t.source,
            "source_date": t.source_date,
        }


@dataclass(slots=True)
class PlanAdvice:
    """The advisor's answer; :meth:`as_dict` is the JSON of ``hunkwise plan advise --json`` and of
    the API, built in one place so both agree."""

    start: datetime
    end: datetime
    days: float
    real_calls: int
    simulated_calls: int
    ledger_cost_usd: float  # every real row as the ledger priced it (unpriced rows included)
    served_by: dict[str, int]
    window_refusals: int  # calls a real Coding Plan window refused (outcome quota_window)
    developer_by_model: dict[str, _Totals]
    other_by_model: dict[str, _Totals]
    unpriced_by_model: dict[str, _Totals]
    tiers: list[TierOutcome]
    fallback: str  # how spilled prompts were priced
    recommendation: str | None  # "developer", a tier id, or None (nothing to compare)
    summary: str
    reasons: list[str] = field(default_factory=list)  # one line per option
    notes: list[str] = field(default_factory=list)  # other providers, unpriced rows
    assumptions: list[str] = field(default_factory=list)
    sources: list[dict[str, str]] = field(default_factory=list)

    @property
    def eligible_cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.developer_by_model.values())

    @property
    def other_cost_usd(self) -> float:
        return sum(t.cost_usd for t in self.other_by_model.values())

    @property
    def developer_total_usd(self) -> float:
        """The whole period on the Developer API (plus the other providers' calls, paid either way)."""
        return self.eligible_cost_usd + self.other_cost_usd

    @property
    def priced_ledger_cost_usd(self) -> float:
        """What the ledger charged for the rows the advisor could price (compare with
        ``developer_total_usd``: equal for Developer API traffic at unchanged prices)."""
        rows = [*self.developer_by_model.values(), *self.other_by_model.values()]
        return sum(t.ledger_cost_usd for t in rows)

    @property
    def empty(self) -> bool:
        return self.real_calls == 0

    def as_dict(self) -> dict[str, Any]:
        per_month = DAYS_PER_MONTH / self.days
        unpriced = sum(t.calls for t in self.unpriced_by_model.values())
        return {
            "period": {
                "start": self.start.isoformat(),
                "end": self.end.isoformat(),
                "days": round(self.days, 3),
            },
            "calls": {
                "real": self.real_calls,
                "priced": self.real_calls - unpriced,
                "unpriced": unpriced,
                "simulated_ignored": self.simulated_calls,
            },
            "served_by": dict(sorted(self.served_by.items())),
            "ledger_cost_usd": _usd(self.ledger_cost_usd),
            "ledger_priced_cost_usd": _usd(self.priced_ledger_cost_usd),
            "developer_api": {
                "cost_usd": _usd(self.developer_total_usd),
                "coding_plan_models_usd": _usd(self.eligible_cost_usd),
                "other_providers_usd": _usd(self.other_cost_usd),
                "monthly_usd": _usd(self.developer_total_usd * per_month),
                "by_model": [t.as_dict("model", m) for m, t in sorted(self.developer_by_model.items())],
            },
            "other_providers": [t.as_dict("model", m) for m, t in sorted(self.other_by_model.items())],
            "unpriced": [t.as_dict("model", m) for m, t in sorted(self.unpriced_by_model.items())],
            "tiers": [t.as_dict() for t in self.tiers],
            "fallback": self.fallback,
            "recommendation": {
                "option": self.recommendation,
                "summary": self.summary,
                "reasons": self.reasons,
                "notes": self.notes,
            },
            "assumptions": self.assumptions,
            "sources": self.sources,
        }


def fee_for_period(tier: Tier, days: float) -> float:
    """The tier's monthly fee prorated to ``days`` (a month = 365.25/12 days)."""
    return tier.price_usd_month * days / DAYS_PER_MONTH


def replay_tier(
    rows: Sequence[CallRow],
    tier: Tier,
    catalog: Catalog,
    *,
    spill_price: Sequence[float],
    days: float,
    other_cost_usd: float = 0.0,
    weights: Sequence[float] | None = None,
) -> TierOutcome:
    """Replay ``rows`` (Coding Plan models only, sorted by time) through ``tier``'s rolling 5-hour and
    weekly windows; a prompt that does not fit either spills at ``spill_price[index]``.

    A prompt weighs the catalog's multiplier at its own timestamp. A window holds the prompts sent in
    the last 5 hours (7 days) before the call, the call itself included: a prompt is admitted when
    ``used + weight <= limit`` in both. Refused prompts consume nothing, as with Z.AI's 1308/1310.
    ``weights`` (one per row) saves recomputing them for every tier.
    """
    rule = catalog.peak_hours
    five: deque[tuple[datetime, float]] = deque()
    week: deque[tuple[datetime, float]] = deque()
    used_5h = used_week = peak_5h = peak_week = 0.0
    spilled = prompts = 0
    spilled_cost = 0.0
    first_spill: datetime | None = None
    for i, row in enumerate(rows):
        if row.outcome not in QUOTA_CONSUMING_OUTCOMES:
            continue
        prompts += 1
        while five and five[0][0] <= row.at - FIVE_HOURS:
            used_5h -= five.popleft()[1]
        while week and week[0][0] <= row.at - WEEK:
            used_week -= week.popleft()[1]
        weight = weights[i] if weights is not None else rule.multiplier(row.model, row.at)
        if used_5h + weight <= tier.prompts_5h + 1e-9 and used_week + weight <= tier.prompts_week + 1e-9:
            five.append((row.at, weight))
            week.append((row.at, weight))
            used_5h += weight
            used_week += weight
            peak_5h, peak_week = max(peak_5h, used_5h), max(peak_week, used_week)
        else:
            spilled += 1
            spilled_cost += spill_price[i]
            first_spill = first_spill or row.at
    return TierOutcome(
        tier=tier,
        fee_period_usd=fee_for_period(tier, days),
        prompts=prompts,
        spilled_calls=spilled,
        spilled_cost_usd=spilled_cost,
        peak_5h_used=peak_5h,
        peak_week_used=peak_week,
        first_spill_at=first_spill,
        other_cost_usd=other_cost_usd,
        days=days,
    )


def advise(
    calls: Iterable[CallRow],
    catalog: Catalog,
    *,
    start: datetime,
    end: datetime,
    fallback_model: str | None = None,
) -> PlanAdvice:
    """Price the period's real calls on every option and recommend the cheapest.

    ``start``/``end`` (aware) bound the period the fees are prorated to; rows outside it are
    ignored. ``fallback_model`` prices the prompts a tier would spill (default: each call's own
    Developer API price, i.e. a Developer API key as Fallback). Raises ``ValueError`` for an empty
    or inverted period or an unknown Fallback model.
    """
    if end <= start:
        raise ValueError(
            f"the period must end after it starts (start {start.isoformat()}, end {end.isoformat()})"
        )
    fallback_card: ModelCard | None = None
    if fallback_model:
        fallback_card = catalog.card(fallback_model)
        if fallback_card is None:
            near = catalog.suggest(fallback_model)
            hint = (
                f"; did you mean {', '.join(near)}?" if near else " (`hunkwise models` lists the known ids)"
            )
            raise ValueError(
                f"unknown Fallback model {fallback_model!r}: it has no price in the catalog{hint}"
            )
    days = (end - start) / timedelta(days=1)
    rows = sorted((c for c in calls if start <= c.at <= end), key=lambda c: c.at)
    real = [c for c in rows if not c.simulated]
    simulated = len(rows) - len(real)

    served_by: dict[str, int] = {}
    dev: dict[str, _Totals] = {}
    other: dict[str, _Totals] = {}
    unpriced: dict[str, _Totals] = {}
    eligible: list[CallRow] = []
    spill: list[float] = []  # per eligible row: its price at the Fallback
    used_cards: dict[str, ModelCard] = {}
    cards: dict[str, ModelCard | None] = {}
    for row in real:
        served_by[row.plan or row.provider] = served_by.get(row.plan or row.provider, 0) + 1
        if row.model not in cards:
            cards[row.model] = catalog.card(row.model)
        card = cards[row.model]
        if card is None:
            unpriced.setdefault(row.model, _Totals()).add(row, 0.0)
            continue
        used_cards[card.id] = card
        cost = card.cost_usd(row.input_tokens, row.output_tokens, row.cached_tokens)
        if CODING_PLAN in card.plans:
            dev.setdefault(card.id, _Totals()).add(row, cost)
            to = fallback_card or card
            spill.append(to.cost_usd(row.input_tokens, row.output_tokens, row.cached_tokens))
            eligible.append(row)
        else:
            other.setdefault(card.id, _Totals()).add(row, cost)
    if fallback_card is not None:
        used_cards[fallback_card.id] = fallback_card
    other_cost = sum(t.cost_usd for t in other.values())
    weights = [catalog.peak_hours.multiplier(r.model, r.at) for r in eligible]
    tiers = [
        replay_tier(
            eligible, tier, catalog, spill_price=spill, days=days, other_cost_usd=other_cost, weights=weights
        )
        for tier in sorted(catalog.tiers.values(), key=lambda t: t.price_usd_month)
    ]
    advice = PlanAdvice(
        start=start,
        end=end,
        days=days,
        real_calls=len(real),
        simulated_calls=simulated,
        ledger_cost_usd=sum(c.cost_usd for c in real),
        served_by=served_by,
        window_refusals=sum(1 for c in real if c.outcome == QUOTA_WINDOW_OUTCOME),
        developer_by_model=dev,
        other_by_model=other,
        unpriced_by_model=unpriced,
        tiers=tiers,
        fallback=(
            f"spilled prompts priced at {fallback_card.id} (the Fallback), same token counts"
            if fallback_card
            else "spilled prompts priced at each call's own Developer API price "
            "(a Developer API key as Fallback)"
        ),
        recommendation=None,
        summary="",
    )
    _recommend(advice)
    advice.assumptions = _assumptions(advice, catalog)
    advice.sources = _sources(catalog, used_cards)
    return advice


def _recommend(a: PlanAdvice) -> None:
    """Fill the recommendation: the cheapest option over the period, with the figures behind it."""
    if a.empty:
        hidden = f" ({a.simulated_calls} simulated call(s) ignored)" if a.simulated_calls else ""
        a.summary = f"No real model calls in the period{hidden}: nothing to compare. Run some reviews first."
        return
    if not a.developer_by_model:
        a.summary = (
            "No call in the period used a model the Coding Plan covers (the GLM family): the Coding Plan "
            "would not change this bill."
        )
        a.recommendation = None
        return
    dev_total = a.developer_total_usd
    options: list[tuple[float, str, str]] = [(dev_total, DEVELOPER, "Developer API")]
    options += [(t.total_usd, t.tier.id, f"Coding Plan {t.tier.display_name}") for t in a.tiers]
    cost, choice, label = min(options, key=lambda o: (round(o[0], 6), o[1] != DEVELOPER))
    a.recommendation = choice
    period = f"{a.days:.1f} day(s)"
    if choice == DEVELOPER:
        cheapest = min(a.tiers, key=lambda t: t.total_usd) if a.tiers else None
        vs = (
            f"; the cheapest tier, {cheapest.tier.display_name}, would cost ${cheapest.total_usd:.2f}"
            if cheapest
            else ""
        )
        a.summary = f"Stay on the Developer API: ${dev_total:.2f} for the period ({period}){vs}."
    else:
        tier = next(t for t in a.tiers if t.tier.id == choice)
        spill = (
            f" + ${tier.spilled_cost_usd:.2f} for {tier.spilled_calls} prompt(s) spilled to the Fallback"
            if tier.spilled_calls
            else ", windows held"
        )
        a.summary = (
            f"Choose {label}: ${cost:.2f} for the period ({period}: ${tier.fee_period_usd:.2f} of the "
            f"${tier.tier.price_usd_month:.2f}/month fee{spill}) vs ${dev_total:.2f} on the Developer API."
        )
    a.reasons = [f"Developer API: ${dev_total:.2f}"]
    for t in a.tiers:
        held = (
            "windows held"
            if t.holds
            else f"{t.spilled_calls} of {t.prompts} prompt(s) spilled (${t.spilled_cost_usd:.2f}), "
            f"first at {t.first_spill_at.isoformat() if t.first_spill_at else '?'}"
        )
        a.reasons.append(
            f"{t.tier.display_name}: ${t.total_usd:.2f} (fee ${t.fee_period_usd:.2f}; {held}; "
            f"busiest 5 hours {t.peak_5h_used:g}/{t.tier.prompts_5h}, "
            f"busiest week {t.peak_week_used:g}/{t.tier.prompts_week})"
        )
    if a.other_by_model:
        a.notes.append(
            f"Other providers ({', '.join(sorted(a.other_by_model))}): ${a.other_cost_usd:.2f}, "
            "the same under every option and included in each total"
        )
    if a.unpriced_by_model:
        a.notes.append(
            "Not priced (unknown to the catalog, left out of every figure): "
            + ", ".join(f"{m} ({t.calls} call(s))" for m, t in sorted(a.unpriced_by_model.items()))
        )


def _assumptions(a: PlanAdvice, catalog: Catalog) -> list[str]:
    m = catalog.peak_hours
    notes = [
        f"Fees are the catalog's monthly equivalents (billed quarterly by Z.AI), prorated to the period: "
        f"fee x {a.days:.2f} / {DAYS_PER_MONTH:.2f} days. 'monthly_usd' scales the period to a month at the "
        "same rate.",
        "One model call = one prompt against the 5-hour and weekly windows (the catalog's prompts_5h / "
        "prompts_week); Z.AI meters tokens on its side, so heavy prompts may burn the window faster.",
        f"Peak-hour multiplier: {', '.join(m.models) or 'no model'} count {m.peak_multiplier}x from "
        f"{m.peak_start_hour:02d}:00 to {m.peak_end_hour:02d}:00 (UTC{m.utc_offset_hours:+d}) and "
        f"{m.off_peak_multiplier}x otherwise, by each call's timestamp; "
        "other models 1x.",
        "Windows are replayed from this installation's calls only; other tools on the same key are not seen.",
        a.fallback + ".",
        "Concurrency caps (Lite/Pro ~1 at a time) are not priced: they slow reviews, they do not bill.",
        "Z.AI's terms describe the Coding Plan as for one person inside supported tools: check they fit "
        "a team server before switching.",
    ]
    if a.days < 7:
        notes.append(
            f"The period is {a.days:.1f} day(s), shorter than the weekly window: the weekly check is partial."
        )
    if a.simulated_calls:
        notes.append(f"{a.simulated_calls} simulated call(s) (served by hunkwise's simulator) were left out.")
    if a.window_refusals:
        notes.append(
            f"{a.window_refusals} call(s) were refused by a spent Coding Plan window (1308/1310) and failed "
            "over: the Fallback's calls are priced as they happened under every option, and the refused "
            "prompts (no tokens recorded) cost nothing on the Developer API figure, so it is a little low."
        )
    return notes


def _sources(catalog: Catalog, cards: dict[str, ModelCard]) -> list[dict[str, str]]:
    """Where every number used came from, and when it was read."""
    out = [
        {
            "what": f"{c.id} prices: ${c.input_price}/M in, "
            + (f"${c.cached_input_price}/M cached in, " if c.cached_input_price is not None else "")
            + f"${c.output_price}/M out",
            "source": c.price_source
            + (f"; cached: {c.cached_price_source}" if c.cached_price_source else ""),
            "date": c.price_date,
        }
        for c in sorted(cards.values(), key=lambda c: c.id)
    ]
    out += [
        {
            "what": f"Coding Plan {t.display_name}: ${t.price_usd_month}/month, {t.prompts_5h} prompts/5h, "
            f"{t.prompts_week} prompts/week",
            "source": t.source,
            "date": t.source_date or catalog.updated,
        }
        for t in sorted(catalog.tiers.values(), key=lambda t: t.price_usd_month)
    ]
    m = catalog.peak_hours
    out.append(
        {
            "what": f"peak-hour multiplier {m.peak_multiplier}x / {m.off_peak_multiplier}x",
            "source": m.source,
            "date": m.date or catalog.updated,
        }
    )
    return out


def _usd(value: float) -> float:
    return round(value, 6)


def _percent(used: float, limit: int) -> float | None:
    return round(used / limit * 100, 1) if limit else None
