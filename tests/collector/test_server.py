"""`engagement-pipeline collect` refuses to start with one sentence and exit code 2 when it cannot
do its job: no write key, a key Basic auth cannot carry, a landing it cannot write, a port in use."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from engagement_pipeline.ops.cli import main
from tests.conftest import base_config, write_config


def collect(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = main(["collect", "--config", str(config), *args])
    err = capsys.readouterr().err
    return code, " ".join(err.split())


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return write_config(tmp_path, base_config())


def test_no_write_key_names_the_variable(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ENGAGEMENT_WRITE_KEYS", raising=False)
    code, err = collect(config, capsys)
    assert code == 2
    assert err.startswith("error: no write key: set ENGAGEMENT_WRITE_KEYS")
    assert "Traceback" not in err


def test_the_variable_is_the_one_the_config_names(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = base_config()
    data["collector"] = {"write_keys_env": "MY_KEYS"}
    monkeypatch.setenv("MY_KEYS", " , ")
    code, err = collect(write_config(tmp_path, data), capsys)
    assert code == 2 and "set MY_KEYS" in err


def test_a_key_with_a_colon_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGEMENT_WRITE_KEYS", "good,bad:key")
    code, err = collect(config, capsys)
    assert code == 2 and "contains ':'" in err and "bad:key" not in err  # a key is never printed


def test_a_landing_that_cannot_be_written_is_named(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGEMENT_WRITE_KEYS", "k")
    (config.parent / "data").mkdir()
    (config.parent / "data" / "landing").write_text("a file, not a folder")
    code, err = collect(config, capsys, "--port", "0")
    assert code == 2
    assert "cannot write to the landing folder" in err and "landing" in err


def test_a_port_in_use_is_named(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGEMENT_WRITE_KEYS", "k")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, err = collect(config, capsys, "--port", str(port))
    assert code == 2
    assert f"port {port} on 127.0.0.1 is in use" in err


def test_a_port_out_of_range_is_named(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ENGAGEMENT_WRITE_KEYS", "k")
    code, err = collect(config, capsys, "--port", "70000")
    assert code == 2 and "not a port number" in err


def test_with_a_sources_list_the_collector_writes_to_the_first_source(tmp_path: Path) -> None:
    from engagement_pipeline.collector.server import collector_landing
    from engagement_pipeline.core.config import load_config
    from engagement_pipeline.core.errors import ConfigError

    data = base_config()
    data["sources"] = [{"name": "apps", "landing": "apps-landing"}, {"name": "web", "landing": "s3://acme/segment"}]
    assert collector_landing(load_config(write_config(tmp_path, data))) == tmp_path / "apps-landing"
    data["sources"].reverse()
    with pytest.raises(ConfigError, match="s3://acme/segment"):
        collector_landing(load_config(write_config(tmp_path, data)))
    data["sources"] = [{"name": "archive", "landing": "archive", "layout": "segment_s3"}]
    with pytest.raises(ConfigError, match="layout segment_s3"):
        collector_landing(load_config(write_config(tmp_path, data)))
    del data["sources"]
    assert collector_landing(load_config(write_config(tmp_path, data))) == tmp_path / "data" / "landing"
