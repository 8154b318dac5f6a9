"""The asset graph against a committed snapshot (tests/ops/graph_snapshot.json).

Every asset (group, deps, partitions type, kinds, owners, the node that computes it, whether it
has a freshness policy) and every check (asset, name, blocking) of `build_definitions`. A change
to the graph fails here until the snapshot is regenerated on purpose:

    UPDATE_GRAPH_SNAPSHOT=1 make test-fast     (or: UPDATE_GRAPH_SNAPSHOT=1 .venv/bin/pytest tests/ops/test_graph_snapshot.py)

then review `git diff tests/ops/graph_snapshot.json` and commit it with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.definitions import build_definitions
from tests.conftest import write_config

GOLDEN = Path(__file__).with_name("graph_snapshot.json")
UPDATE = "UPDATE_GRAPH_SNAPSHOT"
HOW_TO_UPDATE = (
    f"If the change is intended, regenerate the snapshot with `{UPDATE}=1 make test-fast` "
    f"(or `{UPDATE}=1 .venv/bin/pytest tests/ops/test_graph_snapshot.py`), "
    f"review `git diff {GOLDEN.relative_to(GOLDEN.parents[2])}` and commit it."
)


def graph_snapshot(config_path: Path) -> dict[str, Any]:
    """The graph as plain, sorted JSON data (nothing that depends on the config's dates or paths)."""
    graph = build_definitions(load_config(config_path)).resolve_asset_graph()
    assets: dict[str, Any] = {}
    checks: list[dict[str, Any]] = []
    for assets_def in graph.assets_defs:
        partitions = assets_def.partitions_def
        for spec in assets_def.specs:
            assets[spec.key.to_user_string()] = {
                "group": spec.group_name,
                "deps": sorted(dep.asset_key.to_user_string() for dep in spec.deps),
                "partitions": type(partitions).__name__ if partitions is not None else None,
                "kinds": sorted(spec.kinds),
                "owners": list(spec.owners),
                "node": assets_def.node_def.name if assets_def.is_executable else None,
                "freshness_policy": spec.freshness_policy is not None,
            }
        checks += [
            {"asset": c.asset_key.to_user_string(), "name": c.name, "blocking": c.blocking}
            for c in assets_def.check_specs
        ]
    return {"assets": dict(sorted(assets.items())), "checks": sorted(checks, key=lambda c: (c["asset"], c["name"]))}


def _differences(want: dict[str, Any], got: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(want["assets"]) | set(got["assets"])):
        before, after = want["assets"].get(key), got["assets"].get(key)
        if before is None:
            lines.append(f"+ asset {key}: {after}")
        elif after is None:
            lines.append(f"- asset {key}")
        else:
            lines += [
                f"~ asset {key} {field}: {before.get(field)!r} -> {after.get(field)!r}"
                for field in sorted(set(before) | set(after))
                if before.get(field) != after.get(field)
            ]
    checks_before = {(c["asset"], c["name"]): c for c in want["checks"]}
    checks_after = {(c["asset"], c["name"]): c for c in got["checks"]}
    for key in sorted(set(checks_before) | set(checks_after)):
        before, after = checks_before.get(key), checks_after.get(key)
        if before != after:
            lines.append(
                f"{'+' if before is None else '-' if after is None else '~'} check {key[0]}:{key[1]}: "
                f"{before} -> {after}"
            )
    return lines


def test_asset_graph_matches_the_committed_snapshot(tmp_path: Path) -> None:
    got = graph_snapshot(write_config(tmp_path))
    text = json.dumps(got, indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE):
        GOLDEN.write_text(text, encoding="utf-8")
        pytest.skip(f"{UPDATE} is set: {GOLDEN.name} rewritten, review and commit it")
    assert GOLDEN.exists(), f"{GOLDEN} is missing. {HOW_TO_UPDATE}"
    want = json.loads(GOLDEN.read_text(encoding="utf-8"))
    if want != got:
        diff = "\n".join(_differences(want, got)) or "(the same entries, in another shape)"
        pytest.fail(f"The asset graph differs from {GOLDEN.name}:\n{diff}\n\n{HOW_TO_UPDATE}", pytrace=False)


def test_the_snapshot_covers_every_layer_and_names_blocking_checks() -> None:
    """The committed snapshot itself is sane: seven groups, partitioned, owners and kinds everywhere."""
    snap = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert {a["group"] for a in snap["assets"].values()} == {
        "raw",
        "staging",
        "scores",
        "accounts",
        "snapshots",
        "exports",
        "destinations",
    }
    assert all(
        a["partitions"] == "DailyPartitionsDefinition" and a["owners"] and a["kinds"] for a in snap["assets"].values()
    )
    assert all(c["asset"] in snap["assets"] for c in snap["checks"])
    assert any(c["blocking"] for c in snap["checks"]) and any(not c["blocking"] for c in snap["checks"])
