"""The settings schema: defaults, bounds, TOML round trip, and messages for a broken file."""

import pytest

from app import paths
from app.errors import SettingsError
from app.settings import Settings


def test_defaults_round_trip_through_toml(localkb_home):
    s = Settings()
    s.model.temperature = 0.7
    s.retrieval.top_k = 9
    s.answer.prompt_zh = "只根据资料回答。\n{context}"
    path = s.save()
    assert path == localkb_home / "settings.toml" == paths.settings_file()
    assert Settings.load() == s


def test_missing_file_gives_defaults():
    assert Settings.load() == Settings()


def test_out_of_bounds_value_names_the_key(localkb_home):
    (localkb_home / "settings.toml").write_text("[retrieval]\ntop_k = 0\n")
    with pytest.raises(SettingsError, match=r"retrieval\.top_k"):
        Settings.load()


def test_unknown_key_and_broken_toml_are_reported(localkb_home):
    (localkb_home / "settings.toml").write_text("[model]\ntemprature = 0.3\n")
    with pytest.raises(SettingsError, match="temprature"):
        Settings.load()
    (localkb_home / "settings.toml").write_text("[model\n")
    with pytest.raises(SettingsError, match="Cannot read settings"):
        Settings.load()


def test_assignment_is_validated():
    s = Settings()
    with pytest.raises(Exception):
        s.ingest.chunk_size = 10


def test_every_field_has_a_title_and_description():
    for group_name, group_field in Settings.model_fields.items():
        for name, field in group_field.annotation.model_fields.items():
            assert field.title and field.description, f"{group_name}.{name}"


def test_every_embedder_runtime_can_be_chosen_in_settings_and_benchmarks():
    """The runtimes are listed in three places (the settings' choices, the embedder, `bench
    retrieval --runtime`) so that the CLI's start imports neither numpy nor pydantic: a runtime
    added to one and not the others would be refused or unreachable."""
    import argparse
    from typing import get_args

    from app.cli import bench
    from app.settings import EmbeddingSettings
    from ingest.embedder import RUNTIMES

    parser = argparse.ArgumentParser()
    bench.register(parser.add_subparsers())
    settings_runtimes = get_args(EmbeddingSettings.model_fields["runtime"].annotation)
    assert set(settings_runtimes) == set(RUNTIMES)
    for runtime in RUNTIMES:
        assert parser.parse_args(["bench", "retrieval", "data.json", "--runtime", runtime]).runtime == runtime
