"""churn_risk and at_risk against the demo's kinds of churn, on several seeds (the README quotes these figures).

Each seed's world (tests/e2e/churn_world.py: every churn kind, the holiday week, heavy-tailed users)
is generated and run through raw .. snapshots once per session.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.churn_world import ChurnWorld, churn_figures, churn_world

pytestmark = pytest.mark.slow

SEEDS = (1, 2)


@pytest.fixture(scope="session")
def figures(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = []
    for seed in SEEDS:
        world: ChurnWorld = churn_world(Path(tmp_path_factory.mktemp(f"churn{seed}")), seed)
        out.append(churn_figures(world))
        print(out[-1])
    return out


# Measured (README, "Kinds of churn on the demo"): the targets that hold are asserted as such
# (holiday week, champion-loss lead time); those that do not yet are asserted at the measured floor,
# named as short of the target, so a regression still fails.


def test_churn_risk_ranks_churners_within_30_days(figures: list[dict]) -> None:
    overall = [f["auc_by_kind"]["all"] for f in figures]
    # Target 0.85 (issue 20) not reached: 0.793 and 0.762 on seeds 1 and 2.
    assert sum(overall) / len(overall) >= 0.75, overall
    for f in figures:
        assert f["auc_by_kind"]["seat_contraction"] >= 0.85, f
        assert f["auc_by_kind"]["champion_loss"] >= 0.7, f
        assert f["auc_by_kind"]["sudden"] < 0.6, f  # no warning: nothing can see it coming


def test_a_lost_champion_is_flagged_at_risk_two_weeks_ahead(figures: list[dict]) -> None:
    for f in figures:
        assert f["lead_days_by_kind"]["champion_loss"] >= 14, f


def test_the_holiday_week_raises_no_false_alarms(figures: list[dict]) -> None:
    for f in figures:
        at_risk, healthy = (int(x) for x in f["holiday_at_risk"].split(" of "))
        assert healthy >= 20 and at_risk <= 0.1 * healthy, f["holiday_at_risk"]


def test_the_lowest_score_band_churns_more_than_the_highest(figures: list[dict]) -> None:
    # Target (issue 20): each band below the next; not reached on seed 1 (50-74 churns 6.4%, 25-49 5.7%).
    for f in figures:
        rates = [churned / accounts for accounts, churned in f["band_churn"].values() if accounts]
        assert rates[0] > rates[-1], f["band_churn"]
