"""churn_risk and at_risk against the demo's kinds of churn, on several seeds (the README quotes these figures).

Each seed's world (tests/e2e/churn_world.py: every churn kind, the holiday week, heavy-tailed users)
is generated and run through raw .. snapshots once per session. The seeds are not those the
formula's coefficients were fitted on (1 and 2, `accounts/churn.py`): these are held-out worlds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.churn_world import ChurnWorld, churn_figures, churn_world

pytestmark = pytest.mark.slow

SEEDS = (3, 4)
ACCOUNTS = 300


@pytest.fixture(scope="session")
def figures(tmp_path_factory: pytest.TempPathFactory) -> list[dict]:
    out = []
    for seed in SEEDS:
        world: ChurnWorld = churn_world(Path(tmp_path_factory.mktemp(f"churn{seed}")), seed, accounts=ACCOUNTS)
        out.append(churn_figures(world))
        print(out[-1])
    return out


def test_churn_risk_ranks_churners_within_30_days(figures: list[dict]) -> None:
    overall = [f["auc_by_kind"]["all"] for f in figures]
    assert sum(overall) / len(overall) >= 0.85, overall  # the target, on held-out seeds
    for f in figures:
        aucs = f["auc_by_kind"]
        # measured (300 accounts): champion loss 0.80 / 0.88, seat contraction 0.73 / 0.90 (10 or so
        # churners of a kind per seed), trial lapse 0.98 / 0.99, noisy decline 0.76 / 0.73
        for kind in ("champion_loss", "seat_contraction"):
            assert aucs[kind] >= 0.7, (kind, f)
        assert aucs["trial_lapse"] >= 0.9, f
        assert aucs["noisy_decline"] >= 0.65, f  # its decline looks like that of accounts that shrink and stay


def test_a_lost_champion_or_shrinking_team_is_flagged_two_weeks_ahead(figures: list[dict]) -> None:
    for f in figures:
        assert f["lead_days_by_kind"]["champion_loss"] >= 14, f
        assert f["lead_days_by_kind"]["seat_contraction"] >= 14, f


def test_the_holiday_week_raises_no_false_alarms(figures: list[dict]) -> None:
    for f in figures:
        at_risk, healthy = (int(x) for x in f["holiday_at_risk"].split(" of "))
        assert healthy >= 50 and at_risk <= 0.1 * healthy, f["holiday_at_risk"]


def test_the_score_bands_separate_churn(figures: list[dict]) -> None:
    for f in figures:
        rates = [churned / accounts for accounts, churned in f["band_churn"].values() if accounts]
        # measured: 12.6% / 8.7% / 3.4% / 0.0% and 21.8% / 13.4% / 3.9% / 0.4% (seed 5 at 500 accounts
        # too; seed 3 at 500 accounts and `make demo` break only at 75+, with one or two churners there)
        assert all(a > b for a, b in zip(rates, rates[1:])), f["band_churn"]
