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
