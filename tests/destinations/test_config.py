"""The `destinations:` section: off by default, the contract's names, one sentence per mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from engagement_pipeline.core.config import load_config
from engagement_pipeline.core.errors import ConfigError
from tests.conftest import base_config, write_config


def _load(tmp_path: Path, destinations: object) -> object:
    return load_config(write_config(tmp_path, {**base_config(), "destinations": destinations}))


def test_every_destination_is_off_by_default(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    assert config.destinations.segment is None and config.destinations.digest is None
    assert config.destinations.crm_files is False and config.exports.include_contacts is False
    assert not config.destinations.sending


def test_the_contracts_example_loads(tmp_path: Path) -> None:
    config = _load(
        tmp_path,
        {
            "segment": {
                "endpoint": "https://api.segment.io",
                "write_key_env": "SEGMENT_WRITE_KEY",
                "trait_prefix": "engagement_",
            },
            "crm_files": True,
            "digest": {"webhook_url_env": "CS_DIGEST_WEBHOOK_URL"},
        },
    )
    segment = config.destinations.segment  # type: ignore[attr-defined]
    assert segment.trait_name("score") == "engagement_score" and segment.trait_name("health") == "engagement_health"
    assert config.destinations.crm_files and config.destinations.digest.webhook_url_env == "CS_DIGEST_WEBHOOK_URL"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("destinations", "message"),
    [
        ({"segment": {"endpont": "x"}}, "unknown key 'destinations.segment.endpont'"),
        ({"segment": {"endpoint": "api.segment.io"}}, "'destinations.segment.endpoint' value error, must be an http"),
        ({"segment": {"traits": {"scor": "lead"}}}, "unknown trait 'scor'"),
        ({"segment": {"max_batch_bytes": 500_000}}, "'destinations.segment.max_batch_bytes'"),
        ({"digest": {"webhook_url": "https://hooks.slack.com/x"}}, "unknown key 'destinations.digest.webhook_url'"),
    ],
)
def test_a_mistake_is_one_sentence_naming_the_key(tmp_path: Path, destinations: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        _load(tmp_path, destinations)
    assert message in str(error.value) and "\n" not in str(error.value)
