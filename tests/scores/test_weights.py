from __future__ import annotations

import polars as pl

from engagement_pipeline.scores.weights import suggest_weights, yaml_block


def test_rarer_events_weigh_more_from_1_to_10() -> None:
    freq = pl.DataFrame(
        {
            "event": ["Logged In", "Document Created", "Teammate Invited", "Integration Connected"],
            "events": [10_000, 1_000, 100, 10],
            "users": [900, 500, 80, 9],
            "accounts": [90, 80, 40, 8],
        }
    )
    out = suggest_weights(freq)
    weights = dict(out.select("event", "weight").iter_rows())
    assert weights == {"Logged In": 1, "Document Created": 4, "Teammate Invited": 7, "Integration Connected": 10}
    block = yaml_block(out, {"Logged In": 1, "Document Created": 5})
    assert "Integration Connected: {weight: 10}" in block and "not scored now" in block and "now 5" in block


def test_one_event_kind_gets_weight_1() -> None:
    out = suggest_weights(pl.DataFrame({"event": ["A"], "events": [5], "users": [1], "accounts": [1]}))
    assert out["weight"].to_list() == [1]


def test_the_printed_block_keeps_feature_mappings_and_parses_as_yaml() -> None:
    import yaml

    out = suggest_weights(
        pl.DataFrame(
            {
                "event": ["Document Created", "Invoice: Paid", "Logged In"],
                "events": [100, 10, 1000],
                "users": [5, 2, 9],
                "accounts": [2, 1, 3],
            }
        )
    )
    block = yaml_block(out, {"Document Created": 5}, {"Document Created": "Documents", "Invoice: Paid": "Billing"})
    events = yaml.safe_load("model:\n" + block)["model"]["events"]
    assert events["Document Created"] == {"weight": 6, "feature": "Documents"}
    assert events["Invoice: Paid"] == {"weight": 10, "feature": "Billing"}
    assert events["Logged In"] == {"weight": 1}


def test_names_that_yaml_would_read_as_something_else_are_quoted() -> None:
    import yaml

    from engagement_pipeline.scores.weights import yaml_key

    for name in ["yes", "No", "null", "on", "12", "1.5", "-x", "a: b", "#tag", "Ünïcode Event", "Plain Name"]:
        assert yaml.safe_load(f"{yaml_key(name)}: 1") == {name: 1}, name
    assert yaml_key("Plain Name") == "Plain Name"
