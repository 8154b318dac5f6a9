from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.errors import ConfigError
from engagement_pipeline.ops.cli import main
from tests.conftest import REPO, base_config, write_config


def test_repository_config_loads_and_resolves_paths_beside_the_file() -> None:
    config = load_config(REPO / "engagement.yaml")
    assert config.paths.warehouse == REPO / "data" / "warehouse.duckdb"
    assert config.paths.dagster_home == REPO / "data" / "dagster_home"
    assert config.model.weights["Document Created"] == 5
    assert len(config.model_version) == 12


def _error_for(tmp_path: Path, mutate) -> str:  # type: ignore[no-untyped-def]
    data = base_config()
    mutate(data)
    with pytest.raises(ConfigError) as info:
        load_config(write_config(tmp_path, data))
    return str(info.value)


def test_unknown_key_is_named(tmp_path: Path) -> None:
    message = _error_for(tmp_path, lambda d: d["model"].update(windw_days=7))
    assert "unknown key 'model.windw_days'" in message


def test_weight_of_eleven_is_rejected(tmp_path: Path) -> None:
    message = _error_for(tmp_path, lambda d: d["model"]["events"]["Document Created"].update(weight=11))
    assert "model.events.Document Created.weight" in message and "less than or equal to 10" in message


def test_activation_step_must_be_a_scored_event(tmp_path: Path) -> None:
    def mutate(d):  # type: ignore[no-untyped-def]
        d["model"]["activation"]["steps"].append({"name": "Paid", "event": "Invoice Paid"})

    assert "Invoice Paid" in _error_for(tmp_path, mutate)


def test_bad_method_and_missing_file(tmp_path: Path) -> None:
    message = _error_for(tmp_path, lambda d: d["model"]["normalization"].update(method="cubic"))
    assert "model.normalization.method" in message
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "engagement.yaml"
    path.write_text("start_date: 2026-01-01\nmodel: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_config(path)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda d: d.update(colour="blue"), "unknown key 'colour'"),
        (lambda d: d["model"]["events"]["Logged In"].update(weight=11), "weight"),
    ],
)
def test_cli_exits_non_zero_with_one_sentence(tmp_path: Path, capsys, mutate, expected) -> None:  # type: ignore[no-untyped-def]
    data = base_config()
    mutate(data)
    path = write_config(tmp_path, data)
    code = main(["run", "--config", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err
    assert "Traceback" not in err
    assert err.strip().count("\n") <= 2  # one sentence (rich may wrap it)


def test_missing_landing_folder_is_one_clear_sentence(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(["run", "--config", str(write_config(tmp_path))])
    err = capsys.readouterr().err
    assert code == 2
    assert "landing folder" in err and "does not exist" in err and "Traceback" not in err


def test_landing_urls_stay_urls_and_are_not_checked_as_paths(tmp_path: Path) -> None:
    data = base_config()
    data["paths"]["landing"] = "s3://acme-segment/segment-logs/AbC123/"
    config = load_config(write_config(tmp_path, data))
    assert config.paths.landing == "s3://acme-segment/segment-logs/AbC123"
    assert [s.name for s in config.landing_sources] == ["default"] and config.landing_sources[0].remote


def test_sources_replace_paths_landing_and_resolve_beside_the_file(tmp_path: Path) -> None:
    data = base_config()
    data["sources"] = [
        {"name": "web", "landing": "gs://acme/web", "layout": "segment_s3"},
        {"name": "backend", "landing": "data/landing"},  # the default paths.landing: not a clash
    ]
    config = load_config(write_config(tmp_path, data))
    web, backend = config.landing_sources
    assert web.landing == "gs://acme/web" and web.layout == "segment_s3"
    assert backend.landing == tmp_path / "data" / "landing" and backend.layout == "days"


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        ([], "'sources' is an empty list"),
        ([{"name": "a", "landing": "x"}, {"name": "a", "landing": "y"}], "source name 'a' is used twice"),
        ([{"name": "a", "landing": "ftp://host/x"}], "unsupported landing URL scheme 'ftp'"),
        ([{"name": "a", "landing": "s3:///x"}], "names no bucket"),
        ([{"name": "a b", "landing": "x"}], "sources.0.name"),
        ([{"name": "a", "landing": "x", "layout": "hourly"}], "sources.0.layout"),
        ([{"name": "a", "landing": "data/exports"}], "paths.exports and sources[a].landing are the same path"),
    ],
)
def test_bad_sources_are_one_sentence(tmp_path: Path, sources: list[dict[str, str]], expected: str) -> None:
    assert expected in _error_for(tmp_path, lambda d: d.update(sources=sources))


def test_start_date_may_be_n_days_ago_so_the_demo_ends_yesterday(tmp_path: Path) -> None:
    import datetime as dt

    from engagement_pipeline.core.config_dates import today_utc

    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    assert data["start_date"] == "60 days ago" and data["demo"]["days"] == 60  # the demo's 60 days end yesterday
    config = load_config(REPO / "engagement.yaml")
    assert config.start_date == today_utc() - dt.timedelta(days=60)
    data["start_date"] = "not a date"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="start_date"):
        load_config(path)


def test_the_demo_refuses_days_past_yesterday(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    from engagement_pipeline.ops.cli import main

    data = yaml.safe_load((REPO / "engagement.yaml").read_text())
    data["start_date"] = "3 days ago"
    path = tmp_path / "engagement.yaml"
    path.write_text(yaml.safe_dump(data))
    assert main(["demo", "--config", str(path), "--days", "5", "--accounts", "5"]) == 2
    err = capsys.readouterr().err
    assert "past yesterday" in err and "--days 3" in err
    assert not (tmp_path / "data").exists()  # refused before writing anything


def test_engine_defaults_to_duckdb_and_a_spark_block_is_validated(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert config.engine == "duckdb" and config.spark.master == "local[*]"
    assert config.spark.work_root(config.paths.data_dir) == str(config.paths.data_dir / "spark_work")
    data = base_config()
    data["engine"] = "spark"
    data["spark"] = {
        "master": "sc://spark.internal:15002",
        "conf": {"spark.executor.memory": "4g"},
        "work_dir": "s3a://b/p/",
    }
    config = load_config(write_config(tmp_path, data))
    assert (config.engine, config.spark.is_connect) == ("spark", True)
    assert config.spark.work_root(config.paths.data_dir) == "s3a://b/p"
    for spark, named in (
        ({"master": "spark//host:7077"}, "'spark.master' value error, must be local[*], local[N], spark://host:port"),
        ({"conf": {"executor.memory": "4g"}}, "keys must be Spark settings starting with 'spark.'"),
        ({"masters": "local[2]"}, "unknown key 'spark.masters'"),
    ):
        data["spark"] = spark
        with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("*", r"\*")):
            load_config(write_config(tmp_path, data))
    data["spark"], data["engine"] = {}, "flink"
    with pytest.raises(ConfigError, match="'engine' input should be 'duckdb' or 'spark'"):
        load_config(write_config(tmp_path, data))
