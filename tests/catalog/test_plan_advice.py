"""The plan advisor's pure core: prices, the window replay with the peak-hour multiplier, spill
pricing, the recommendation, and the rows it cannot price. Hand-built rows, no database, no clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hunkwise.catalog.loader import Catalog, load_catalog, price_usd
from hunkwise.catalog.plan_advice import DAYS_PER_MONTH, CallRow, advise

# 2026-11-02 is a Monday. Peak is 14:00-18:00 UTC+8 = 06:00-10:00 UTC.
DAY = datetime(2026, 11, 2, tzinfo=UTC)
PEAK = DAY + timedelta(hours=7)  # 15:00 in Beijing
OFF_PEAK = DAY + timedelta(hours=12)  # 20:00 in Beijing
START, END = DAY - timedelta(days=1), DAY + timedelta(days=29)
H = timedelta(hours=1)
S = timedelta(seconds=1)


def row(at: datetime, model: str = "glm-5.1", outcome: str = "ok", **kw: object) -> CallRow:
    fields: dict[str, object] = {
        "provider": "zai",
        "input_tokens": 20_000,
        "output_tokens": 2_000,
        "plan": "developer",
    }
    fields.update(kw)
    return CallRow(at=at, model=model, outcome=outcome, **fields)  # type: ignore[arg-type]


def small_tiers(five_hour: int, week: int) -> Catalog:
    """Every tier with the same small ceilings, so a handful of rows exercises the windows."""
    patch = {"prompts_5h": five_hour, "prompts_week": week}
    return load_catalog().with_overrides({"tiers": {t: patch for t in ("lite", "pro", "max")}})


def tier(advice_dict: dict[str, object], name: str) -> dict[str, object]:
    tiers = advice_dict["tiers"]
    assert isinstance(tiers, list)
    return next(t for t in tiers if t["tier"] == name)


# -- the multiplier ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "model", "weight"),
    [
        (DAY + 6 * H - S, "glm-5.1", 2.0),  # 13:59:59 in Beijing: off-peak
        (DAY + 6 * H, "glm-5.1", 3.0),  # 14:00:00: peak starts
        (DAY + 10 * H - S, "glm-5-turbo", 3.0),  # 17:59:59: still peak
        (DAY + 10 * H, "glm-5-turbo", 2.0),  # 18:00:00: off-peak again
        (PEAK, "glm-4.5", 1.0),  # models without a multiplier count once
        (PEAK, "GLM-5.1", 3.0),  # ids as users type them
    ],
)
def test_the_multiplier_follows_the_clock_in_utc_plus_8(at: datetime, model: str, weight: float) -> None:
    assert load_catalog().peak_hours.multiplier(model, at) == weight


def test_a_promotion_is_an_override() -> None:
    catalog = load_catalog().with_overrides({"peak_hours": {"off_peak_multiplier": 1}})
    assert catalog.peak_hours.multiplier("glm-5.1", OFF_PEAK) == 1
    assert catalog.peak_hours.multiplier("glm-5.1", PEAK) == 3
    with pytest.raises(ValueError, match="peak_hours: unknown or read-only field"):
        load_catalog().with_overrides({"peak_hours": {"offpeak": 1}})


# -- the window replay ------------------------------------------------------------------------------
def test_at_peak_two_prompts_fill_a_six_unit_window_and_the_third_spills() -> None:
    catalog = small_tiers(five_hour=6, week=100)
    rows = [row(PEAK + i * 10 * S) for i in range(3)]
    lite = tier(advise(rows, catalog, start=START, end=END).as_dict(), "lite")
    assert (lite["prompts"], lite["spilled_calls"], lite["holds"]) == (3, 1, False)
    assert lite["peak_5h_used"] == 6.0
    assert lite["first_spill_at"] == (PEAK + 20 * S).isoformat()


def test_off_peak_the_same_window_holds_three_prompts() -> None:
    catalog = small_tiers(five_hour=6, week=100)
    rows = [row(OFF_PEAK + i * 10 * S) for i in range(3)]
    lite = tier(advise(rows, catalog, start=START, end=END).as_dict(), "lite")
    assert (lite["spilled_calls"], lite["holds"], lite["peak_5h_used"]) == (0, True, 6.0)
    # A fourth off-peak prompt in the same five hours does not fit.
    more = tier(advise([*rows, row(OFF_PEAK + H)], catalog, start=START, end=END).as_dict(), "lite")
    assert more["spilled_calls"] == 1


def test_a_prompt_crossing_into_peak_weighs_its_own_timestamp() -> None:
    catalog = small_tiers(five_hour=5, week=100)
    # 13:59:59 Beijing (2 units) then 14:00:00 (3 units): 5 fit; one more second later does not.
    rows = [row(DAY + 6 * H - S), row(DAY + 6 * H), row(DAY + 6 * H + S, model="glm-4.5")]
    lite = tier(advise(rows, catalog, start=START, end=END).as_dict(), "lite")
    assert (lite["peak_5h_used"], lite["spilled_calls"]) == (5.0, 1)


def test_the_five_hour_window_rolls_and_refused_prompts_consume_nothing() -> None:
    catalog = small_tiers(five_hour=4, week=100)
    rows = [
        row(OFF_PEAK),  # 2 units
        row(OFF_PEAK + H),  # 2 units: full
        row(OFF_PEAK + 2 * H),  # spills
        row(OFF_PEAK + 5 * H),  # the first prompt has left the window exactly now: fits
        row(OFF_PEAK + 5 * H + S),  # the second is still inside: spills
        row(OFF_PEAK + 6 * H, outcome="rate"),  # rejected by the provider: no prompt at all
    ]
    lite = tier(advise(rows, catalog, start=START, end=END).as_dict(), "lite")
    assert (lite["prompts"], lite["spilled_calls"]) == (5, 2)


def test_the_weekly_window_spills_when_the_five_hour_one_would_hold() -> None:
    catalog = small_tiers(five_hour=100, week=6)
    rows = [row(OFF_PEAK + i * 24 * H, model="glm-4.5") for i in range(8)]  # 1 unit a day
    lite = tier(advise(rows, catalog, start=START, end=END).as_dict(), "lite")
    assert (lite["spilled_calls"], lite["peak_week_used"]) == (1, 6.0)  # the 7th day's; the 8th fits again


# -- prices -----------------------------------------------------------------------------------------
def test_cached_input_is_billed_at_the_cached_price() -> None:
    card = load_catalog().card("glm-5.1")
    assert card is not None and card.cached_input_price is not None
    expected = (15_000 * card.input_price + 5_000 * card.cached_input_price + 2_000 * card.output_price) / 1e6
    assert card.cost_usd(20_000, 2_000, 5_000) == pytest.approx(expected)
    a = advise([row(OFF_PEAK, cached_tokens=5_000)], load_catalog(), start=START, end=END)
    assert a.developer_total_usd == pytest.approx(expected)
    # No cached price known: the full input price, never a guessed discount.
    assert price_usd(10, 0, input_price=1e6, output_price=0, cached_tokens=10) == pytest.approx(10.0)


def test_spilled_prompts_are_priced_at_the_fallback() -> None:
    catalog = small_tiers(five_hour=2, week=100)
    rows = [row(OFF_PEAK), row(OFF_PEAK + S), row(OFF_PEAK + 2 * S)]  # the 2nd and 3rd spill
    glm = catalog.card("glm-5.1")
    gpt = catalog.card("gpt-5")
    assert glm is not None and gpt is not None
    own = advise(rows, catalog, start=START, end=END)
    assert tier(own.as_dict(), "lite")["spilled_cost_usd"] == pytest.approx(
        2 * glm.cost_usd(20_000, 2_000), abs=1e-6
    )
    to_gpt = advise(rows, catalog, start=START, end=END, fallback_model="gpt-5")
    lite = tier(to_gpt.as_dict(), "lite")
    assert lite["spilled_cost_usd"] == pytest.approx(2 * gpt.cost_usd(20_000, 2_000), abs=1e-6)
    fee = catalog.tiers["lite"].price_usd_month * 30 / DAYS_PER_MONTH
    assert lite["total_usd"] == pytest.approx(fee + 2 * gpt.cost_usd(20_000, 2_000), abs=1e-5)
    assert "gpt-5" in to_gpt.fallback
    with pytest.raises(ValueError, match=r"unknown Fallback model 'gpt-9'.*did you mean"):
        advise(rows, catalog, start=START, end=END, fallback_model="gpt-9")


def test_the_fee_is_prorated_to_the_period() -> None:
    a = advise([row(OFF_PEAK)], load_catalog(), start=DAY, end=DAY + timedelta(days=7))
    pro = tier(a.as_dict(), "pro")
    assert pro["fee_usd_month"] == 30.0
    assert pro["fee_usd_period"] == pytest.approx(30.0 * 7 / DAYS_PER_MONTH, abs=1e-6)
    assert not any("shorter than the weekly window" in n for n in a.assumptions)
    short = advise([row(OFF_PEAK)], load_catalog(), start=DAY, end=DAY + timedelta(days=3))
    assert any("3.0 day(s), shorter than the weekly window" in n for n in short.assumptions)


# -- the recommendation -----------------------------------------------------------------------------
def _steady(calls: int, days: int = 30) -> list[CallRow]:
    step = timedelta(days=days) / calls
    return [row(DAY + i * step) for i in range(calls)]


def test_the_recommendation_flips_from_pay_per_token_to_a_tier_as_volume_grows() -> None:
    catalog = load_catalog()
    end = DAY + timedelta(days=30)
    light = advise(_steady(100), catalog, start=DAY, end=end)
    assert light.recommendation == "developer"
    assert light.summary.startswith("Stay on the Developer API")
    heavy = advise(_steady(3000), catalog, start=DAY, end=end)
    assert heavy.recommendation == "pro"
    pro = tier(heavy.as_dict(), "pro")
    lite = tier(heavy.as_dict(), "lite")
    assert pro["holds"] and not lite["holds"]  # Lite's weekly window cannot carry ~100 GLM-5.1 prompts a day
    assert pro["total_usd"] < heavy.developer_total_usd
    assert heavy.summary.startswith("Choose Coding Plan Pro")


def test_unknown_models_are_listed_and_left_out_of_every_figure() -> None:
    rows = [row(OFF_PEAK), row(OFF_PEAK, model="glm-9-preview", cost_usd=0.5, provider="openai_compatible")]
    a = advise(rows, load_catalog(), start=START, end=END)
    d = a.as_dict()
    assert d["calls"] == {"real": 2, "priced": 1, "unpriced": 1, "simulated_ignored": 0}
    assert [u["model"] for u in d["unpriced"]] == ["glm-9-preview"]
    assert d["unpriced"][0]["ledger_cost_usd"] == 0.5
    card = load_catalog().card("glm-5.1")
    assert card is not None
    assert a.developer_total_usd == pytest.approx(card.cost_usd(20_000, 2_000))
    assert any("glm-9-preview (1 call(s))" in n for n in a.notes)


def test_other_providers_cost_the_same_under_every_option() -> None:
    rows = [row(OFF_PEAK), row(OFF_PEAK, model="claude-haiku-4-5", provider="anthropic", plan=None)]
    a = advise(rows, load_catalog(), start=START, end=END)
    d = a.as_dict()
    haiku = load_catalog().card("claude-haiku-4-5")
    assert haiku is not None
    other = haiku.cost_usd(20_000, 2_000)
    assert d["developer_api"]["other_providers_usd"] == pytest.approx(other, abs=1e-6)
    for t in d["tiers"]:
        assert t["other_providers_usd"] == pytest.approx(other, abs=1e-6)
        assert t["prompts"] == 1  # the Anthropic call never enters a Coding Plan window
    assert d["served_by"] == {"anthropic": 1, "developer": 1}
    assert any(n.startswith("Other providers (claude-haiku-4-5)") for n in d["recommendation"]["notes"])


def test_calls_a_real_window_refused_are_named_in_the_assumptions() -> None:
    rows = [
        row(OFF_PEAK, plan="coding"),
        row(OFF_PEAK + S, outcome="quota_window", plan="coding", input_tokens=0, output_tokens=0),
        row(OFF_PEAK + 2 * S, model="gpt-5-mini", provider="openai", plan=None),  # the failover
    ]
    a = advise(rows, load_catalog(), start=START, end=END)
    assert a.window_refusals == 1
    assert any(n.startswith("1 call(s) were refused by a spent Coding Plan window") for n in a.assumptions)
    assert tier(a.as_dict(), "lite")["prompts"] == 1  # the refused one consumed no prompt


def test_an_empty_period_says_so_and_recommends_nothing() -> None:
    a = advise([row(OFF_PEAK, simulated=True)], load_catalog(), start=START, end=END)
    assert a.empty and a.recommendation is None
    assert a.summary.startswith("No real model calls in the period (1 simulated call(s) ignored)")
    d = a.as_dict()
    assert d["calls"]["simulated_ignored"] == 1 and d["developer_api"]["cost_usd"] == 0


def test_only_other_providers_means_the_coding_plan_changes_nothing() -> None:
    a = advise([row(OFF_PEAK, model="gpt-5", provider="openai")], load_catalog(), start=START, end=END)
    assert a.recommendation is None
    assert "would not change this bill" in a.summary


def test_rows_outside_the_period_and_an_inverted_period() -> None:
    a = advise([row(START - S), row(OFF_PEAK)], load_catalog(), start=START, end=END)
    assert a.real_calls == 1
    with pytest.raises(ValueError, match="must end after it starts"):
        advise([], load_catalog(), start=END, end=START)


def test_every_figure_names_its_source_and_date() -> None:
    a = advise([row(OFF_PEAK)], load_catalog(), start=START, end=END, fallback_model="gpt-5-mini")
    whats = " | ".join(s["what"] for s in a.sources)
    assert "glm-5.1 prices" in whats and "gpt-5-mini prices" in whats and "Coding Plan Lite" in whats
    assert "peak-hour multiplier 3x / 2x" in whats
    assert all(s["date"] for s in a.sources)
