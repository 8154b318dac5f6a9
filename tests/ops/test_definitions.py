from __future__ import annotations

from dagster import AssetKey

from engagement_pipeline.core.config import load_config
from engagement_pipeline.definitions import DAILY_JOB, build_definitions
from tests.conftest import REPO

LAYERS = ["raw", "staging", "scores", "accounts", "snapshots", "exports", "destinations"]


def test_definitions_load_with_every_layer_wired_in_order() -> None:
    defs = build_definitions(load_config(REPO / "engagement.yaml"))
    graph = defs.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    groups = {graph.get(k).group_name for k in keys}
    assert groups == set(LAYERS)
    for key in keys:
        node = graph.get(key)
        assert key.path[0] == node.group_name  # key prefix = schema = group
        for parent in node.parent_keys:
            assert LAYERS.index(parent.path[0]) <= LAYERS.index(key.path[0])
    # Each layer is reached from the one before it.
    for earlier, later in zip(LAYERS, LAYERS[1:]):
        assert any(p.path[0] == earlier for k in keys if k.path[0] == later for p in graph.get(k).parent_keys), (
            f"{later} does not depend on {earlier}"
        )
    job = defs.resolve_job_def(DAILY_JOB)
    assert job.partitions_def is not None
    check_names = {c.name for c in graph.asset_check_keys}
    assert {
        "lines_reconcile",
        "gx_staging_events",
        "scores_in_range",
        "one_row_per_account",
        "one_product_row",
        "files_valid",
    } <= check_names


def test_workspace_module_exposes_defs(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ENGAGEMENT_CONFIG", str(REPO / "engagement.yaml"))
    import importlib

    import engagement_pipeline.definitions as module

    module = importlib.reload(module)
    assert module.defs.resolve_assets_def(AssetKey(["raw", "landed_lines"])) is not None
