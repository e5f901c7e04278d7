from pathlib import Path

import pytest

from monitor.config import BUNDLED_CONFIG, load_settings
from monitor.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "feeds.yaml"
    path.write_text(text, encoding="utf-8")
    (tmp_path / "stories").mkdir(exist_ok=True)
    return path


def test_bundled_config_loads_with_real_feeds_in_four_languages() -> None:
    settings = load_settings(BUNDLED_CONFIG, env={})
    langs = {f.language for f in settings.feeds}
    assert {"fr", "en", "ru", "ko"} <= langs
    assert all(f.url.startswith("https://") for f in settings.feeds)
    assert [p.name for p in settings.story_paths] == ["russia-dprk.yaml"]
    assert settings.database_url == "sqlite:///data/newsmon.db"


def test_env_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, "database_url: sqlite:///x.db\nfetch: {host_interval_s: 2}\nfeeds: []\n")
    settings = load_settings(
        None,
        env={
            "MONITOR_CONFIG": str(path),
            "MONITOR_DATABASE_URL": "postgresql+psycopg://u@h/db",
            "MONITOR_DATA_DIR": str(tmp_path / "d"),
            "MONITOR_HOST_INTERVAL_S": "0",
        },
    )
    assert settings.config_path == path
    assert settings.database_url == "postgresql+psycopg://u@h/db"
    assert settings.data_dir == tmp_path / "d"
    assert settings.fetch.host_interval_s == 0


def test_default_database_lives_in_data_dir(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: []\n")
    settings = load_settings(path, env={"MONITOR_DATA_DIR": str(tmp_path / "data")})
    assert settings.database_url == f"sqlite:///{tmp_path / 'data' / 'newsmon.db'}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("feeds:\n  - {url: 'ftp://x', name: a}\n", "feeds.0.url"),
        ("feeds:\n  - {url: 'https://x', interval_minutes: -3}\n", "feeds.0.interval_minutes"),
        ("feeds: []\nfetch: {read_timeout_s: soon}\n", "fetch.read_timeout_s"),
        ("feeds: []\nunknown_key: 1\n", "unknown_key"),
        ("feeds: [\n", "invalid YAML"),
        ("- just a list\n", "expected a mapping"),
    ],
)
def test_bad_file_fails_in_one_line_with_file_field_and_reason(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path, env={})
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert expected in message


def test_bad_env_value_is_named(tmp_path: Path) -> None:
    path = write(tmp_path, "feeds: []\n")
    with pytest.raises(ConfigError, match="MONITOR_HOST_INTERVAL_S"):
        load_settings(path, env={"MONITOR_HOST_INTERVAL_S": "fast"})


def test_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.yaml", env={})


def test_nothing_read_at_import() -> None:
    import importlib

    import monitor.config

    importlib.reload(monitor.config)  # must not touch files or env


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        (" on ", True),
        ("0", False),
        ("no", False),
        ("False", False),
        ("", False),
    ],
)
def test_allow_private_networks_env(tmp_path: Path, raw: str, expected: bool) -> None:
    path = write(tmp_path, "feeds: []\n")
    settings = load_settings(path, env={"MONITOR_ALLOW_PRIVATE_NETWORKS": raw})
    assert settings.fetch.allow_private_networks is expected


def test_private_networks_refused_by_default_and_env_overrides_file(tmp_path: Path) -> None:
    assert load_settings(BUNDLED_CONFIG, env={}).fetch.allow_private_networks is False
    path = write(tmp_path, "feeds: []\nfetch: {allow_private_networks: true}\n")
    assert load_settings(path, env={}).fetch.allow_private_networks is True
    env = {"MONITOR_ALLOW_PRIVATE_NETWORKS": "0"}
    assert load_settings(path, env=env).fetch.allow_private_networks is False


@pytest.mark.parametrize("raw", ["2", "maybe", "enable"])
def test_bad_allow_private_networks_is_named(tmp_path: Path, raw: str) -> None:
    path = write(tmp_path, "feeds: []\n")
    with pytest.raises(ConfigError, match="MONITOR_ALLOW_PRIVATE_NETWORKS") as info:
        load_settings(path, env={"MONITOR_ALLOW_PRIVATE_NETWORKS": raw})
    assert repr(raw) in str(info.value) and "\n" not in str(info.value)
