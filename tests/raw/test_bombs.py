"""Memory bounded by construction: gzip bombs, giant lines and giant tables are refused or
skipped with a quarantine reason, never inflated into memory (issue 15, case C)."""

from __future__ import annotations

import datetime as dt
import gzip
import io
from pathlib import Path

import polars as pl
import pytest

from engagement_pipeline.core.config_raw import Raw
from engagement_pipeline.raw.files import LandedFile, read_landed_file
from tests.conftest import base_config, write_config
from tests.raw.bombs import BOMBS, gzip_of, measure_raw_day, one_long_line

DAY = dt.date(2026, 1, 5)
GOOD = '{"type":"track","event":"Report Created","userId":"u1","messageId":"m1","timestamp":"2026-01-05T10:00:00Z"}'


def _read(path: Path, limits: Raw | None = None) -> pl.DataFrame:
    return read_landed_file(LandedFile(path, f"{DAY}/{path.name}"), limits)


def test_a_gzip_of_newlines_is_refused_whole_by_its_ratio(tmp_path: Path) -> None:
    # 4 MB of newlines in about 4 KB: before the cap it became 4 million empty lines (2.6 GB peak).
    bomb = gzip_of(tmp_path / "bomb.jsonl.gz", b"\n", 4 << 20)
    assert bomb.stat().st_size < 10_000
    lines = _read(bomb)
    assert lines.height == 1
    assert lines["read_error"].to_list() == ["file_too_large"]
    assert "raw.max_compression_ratio" in lines["line"][0]


def test_ordinary_event_gzip_passes_the_ratio(tmp_path: Path) -> None:
    text = "".join(GOOD.replace("m1", f"m{i}") + "\n" for i in range(40_000))  # ~4.5 MB, very repetitive
    path = tmp_path / "events.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    lines = _read(path)
    assert lines.height == 40_000 and lines["read_error"].null_count() == 40_000


def test_a_file_over_the_decompressed_cap_is_one_quarantine_line(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_text((GOOD + "\n") * 20_000)  # ~2.2 MB, over a 1 MiB cap
    lines = _read(path, Raw(max_file_bytes=1 << 20))
    assert lines["read_error"].to_list() == ["file_too_large"]
    assert "raw.max_file_bytes" in lines["line"][0]
    assert _read(path).height == 20_000  # under the default cap it is read


@pytest.mark.parametrize("size", [3 << 20, 40 << 20])  # inside one block, and longer than a block
def test_an_over_long_line_keeps_its_first_kib_and_the_lines_after_it(tmp_path: Path, size: int) -> None:
    path = one_long_line(tmp_path / "long.jsonl", size, then=GOOD + "\n")
    lines = _read(path)
    assert lines["line_number"].to_list() == [1, 2]
    assert lines["read_error"].to_list() == ["line_too_long", None]
    assert len(lines["line"][0]) < 1200 and lines["line"][0].endswith("a" * 100)
    assert lines["line"][1] == GOOD


def test_an_over_long_line_of_nul_bytes_is_cut_too(tmp_path: Path) -> None:
    path = tmp_path / "nul.jsonl"
    path.write_bytes(GOOD.encode() + b"\n" + b"\x00" * (2 << 20) + b"\n" + GOOD.encode() + b"\n")
    lines = _read(path)
    assert lines["read_error"].to_list() == [None, "line_too_long", None]
    assert lines["encoding"][1] == "base64" and len(lines["line"][1]) < 1400


def test_a_gzip_csv_bomb_and_a_parquet_over_the_table_cap_are_refused(tmp_path: Path) -> None:
    csv_bomb = gzip_of(tmp_path / "tracks.csv.gz", b"0", 64 << 20)
    assert _read(csv_bomb)["read_error"].to_list() == ["file_too_large"]
    table = pl.DataFrame({"id": [f"m{i}" for i in range(200_000)], "event": ["Report Created"] * 200_000})
    buffer = io.BytesIO()
    table.write_parquet(buffer, compression="zstd")
    parquet = tmp_path / "tracks.parquet"
    parquet.write_bytes(buffer.getvalue())
    refused = _read(parquet, Raw(max_table_file_bytes=1 << 20))
    assert refused["read_error"].to_list() == ["file_too_large"]
    assert "raw.max_table_file_bytes" in refused["line"][0]
    assert _read(parquet).height == 200_000


@pytest.mark.slow
def test_every_bomb_lands_in_bounded_memory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The probe's bombs, together in one day, under a 1.5 GB data limit: before the caps the
    64 MB newline gzip alone passed 6 GB. Peak RSS per bomb is printed for the README."""
    config = base_config()
    config["paths"] = {"landing": "landing", "warehouse": "wh.duckdb", "exports": "exports"}
    config_file = write_config(tmp_path, config)
    folder = tmp_path / "landing" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "good.jsonl").write_text(GOOD + "\n")
    figures = {}
    for name, build in BOMBS.items():
        build(folder / name)
        report = measure_raw_day(config_file, DAY.isoformat())
        figures[name] = report["peak_mb"]
        errors = report["read_errors"]
        assert isinstance(errors, dict)
        assert set(errors) <= {"file_too_large", "line_too_long"}, errors
        (folder / name).unlink()
        assert report["peak_mb"] < 1024, (name, report)  # type: ignore[operator]
    with capsys.disabled():
        print(f"\nraw step peak RSS (MB) per bomb: {figures}")
