"""Issue 15, case I: when user ids are emails (common with Segment), nothing of them reaches
the Dagster run storage (metadata previews, check samples, logs), which everyone with the UI
reads. Every layer runs through Dagster on a persistent instance whose files are then searched."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dagster import DagsterInstance

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.privacy import mask_text, pseudonym, shown
from tests.conftest import LAYERS, base_config, group, identify, materialize_layer, track, write_config, write_day

DAY = dt.date(2026, 1, 1)
PEOPLE = ["jane.doe@mailhost-example.io", "raj.patel@mailhost-example.io", "+15125032107"]


def test_pseudonyms_and_masks() -> None:
    assert pseudonym("jane.doe@mailhost-example.io") == pseudonym("jane.doe@mailhost-example.io")
    assert pseudonym("a").startswith("user-") and len(pseudonym("a")) == 17
    assert mask_text("write to jane.doe@x.io or +1 (512) 503-2107 today") == (
        "write to [email removed] or [phone removed] today"
    )
    assert shown("user_id", "jane.doe@x.io") == pseudonym("jane.doe@x.io")
    assert shown("email", "jane.doe@x.io") == "[hidden]"
    assert shown("event", "Report Created") == "Report Created"


@pytest.mark.slow  # every layer through Dagster
def test_email_user_ids_never_reach_the_dagster_run_storage(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, base_config(DAY.isoformat())))
    ts = f"{DAY.isoformat()}T10:00:00Z"
    lines: list[object] = []
    for i, user in enumerate(PEOPLE):
        lines.append(identify(f"i{i}", user, ts, email=user, firstName="Janet", phone="+1 512 503 2107"))
        lines.append(group(f"g{i}", user, "acc_1", ts, name="Acme", plan="pro", status="active"))
        lines += [track(f"t{i}{k}", user, "Document Created", ts, "acc_1") for k in range(3)]
    lines.append('{"type":"track","userId":"jane.doe@mailhost-example.io","event":')  # quarantined: not_json
    lines.append(track("bad-ts", PEOPLE[0], "Document Created", "not a time", "acc_1"))  # quarantined
    write_day(config.paths.landing, DAY, lines)  # type: ignore[arg-type]
    home = tmp_path / "instance"
    home.mkdir()
    with DagsterInstance.local_temp(str(home)) as instance:
        for layer in LAYERS:
            assert materialize_layer(layer, config, DAY, instance=instance).success, layer
    stored = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file()).lower()
    assert stored, "the instance stored nothing: the test would prove nothing"
    assert pseudonym(PEOPLE[0]).encode() in stored or b"preview" in stored
    for secret in (b"jane.doe", b"raj.patel", b"mailhost-example", b"5125032107", b"512 503 2107", b"janet"):
        assert secret not in stored, secret
