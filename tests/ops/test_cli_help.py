"""The command line: each --help lists what the command uses and ends with an example; conflicting flags are an error."""

from __future__ import annotations

import pytest

from engagement_pipeline.ops.cli import build_parser, main

COMMANDS = ("init", "demo", "generate", "run", "suggest-weights", "ui", "rescore")


@pytest.mark.parametrize("command", COMMANDS)
def test_each_help_ends_with_an_example(command: str) -> None:
    sub = build_parser()._subparsers._group_actions[0].choices[command]  # type: ignore[union-attr]
    text = sub.format_help()
    assert f"example:\n  engagement-pipeline {command}" in text


def test_generate_offers_no_config_it_would_not_read() -> None:
    sub = build_parser()._subparsers._group_actions[0].choices["generate"]  # type: ignore[union-attr]
    assert "--config" not in sub.format_help()
    with pytest.raises(SystemExit):
        build_parser().parse_args(["generate", "--config", "x.yaml", "--landing", "l", "--start", "2026-01-01",
                                   "--days", "1", "--accounts", "1"])  # fmt: skip


@pytest.mark.parametrize("extra", [["--start", "2026-01-01"], ["--end", "2026-01-02"]])
def test_run_date_with_a_range_flag_is_an_error(extra: list[str], capsys) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit) as stop:
        main(["run", "--date", "2026-01-01", *extra])
    assert stop.value.code == 2
    assert "--date cannot be combined with --start or --end" in capsys.readouterr().err
