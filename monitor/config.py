"""Configuration: one YAML file (``config/feeds.yaml``) validated into pydantic models.

Nothing is read at import time: call :func:`load_settings`. Environment variables
override the file, so the same checkout runs on a laptop (SQLite under ``data/``)
and in production (``MONITOR_DATABASE_URL=postgresql+psycopg://...``):

* ``MONITOR_CONFIG``          path of the feeds/config file
* ``MONITOR_DATABASE_URL``    SQLAlchemy URL of the database
* ``MONITOR_DATA_DIR``        where the default SQLite file and reports go
* ``MONITOR_HOST_INTERVAL_S`` minimum seconds between two requests to one host (0 = off)
* ``MONITOR_STORIES``         comma-separated story files (default: every ``stories/*.yaml``)
* ``MONITOR_ALLOW_PRIVATE_NETWORKS`` ``1`` lets the fetcher reach loopback, private and
  link-local addresses (tests, local demos); off by default, see :mod:`monitor.netguard`

A bad value fails with one line naming the file, the field and what was expected.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.errors import BadInputError, ConfigError

PACKAGE_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_CONFIG = PACKAGE_ROOT / "config" / "feeds.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    """One feed as an operator writes it."""

    url: str
    name: str = ""
    language: str | None = None
    interval_minutes: float = Field(default=30, gt=0, le=7 * 24 * 60)
    enabled: bool = True

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        from monitor.urls import check_input_url

        try:  # the same rule as a URL typed on the command line
            return check_input_url(value, what="url", show_value=False)
        except BadInputError as exc:
            raise ValueError(str(exc).removeprefix("url: ")) from None


class FetchSettings(_Strict):
    """How politely and defensively we talk to other people's servers."""

    connect_timeout_s: float = Field(default=5.0, gt=0)
    read_timeout_s: float = Field(default=15.0, gt=0)
    total_timeout_s: float = Field(default=30.0, gt=0)
    max_bytes: int = Field(default=8_000_000, gt=0)
    max_redirects: int = Field(default=8, ge=0)
    contact_url: str = "https://github.com/newsmon/newsmon"
    user_agent: str = "newsmon/0.1 (+{contact_url})"
    respect_robots: bool = True
    host_interval_s: float = Field(default=1.0, ge=0)
    host_concurrency: int = Field(default=2, ge=1)
    workers: int = Field(default=8, ge=1, le=64)
    # Off, a URL from a feed or a redirect cannot reach loopback, private, link-local or
    # cloud-metadata addresses (monitor.netguard); tests and local demos turn it on.
    allow_private_networks: bool = False

    def agent(self) -> str:
        return self.user_agent.format(contact_url=self.contact_url)


class PollSettings(_Strict):
    """Adaptive polling and failure backoff bounds."""

    min_interval_minutes: float = Field(default=5, gt=0)
    max_interval_minutes: float = Field(default=24 * 60, gt=0)
    backoff_step_minutes: float = Field(default=30, gt=0)
    max_backoff_minutes: float = Field(default=12 * 60, gt=0)
    max_entries_per_feed: int = Field(default=200, ge=1)
    page_retry_max: int = Field(default=5, ge=0)
    schedule_minutes: float = Field(default=10, gt=0)
    batch_size: int = Field(default=100, ge=1)
    # A run claims the entries it will process (rows in state ``pending``) for this long;
    # entries of a run that died are taken up by the first run after the claim expires.
    claim_minutes: float = Field(default=15, gt=0)
    # Failed pages past their backoff and orphaned pending entries one run takes up.
    max_due_per_run: int = Field(default=2000, ge=1)
    # How long a run waits for an unreachable database (retrying) before it fails cleanly.
    db_retry_seconds: float = Field(default=60, ge=0)


class ExtractionSettings(_Strict):
    min_text_chars: int = Field(default=250, ge=0)
    extract_processes: int = Field(default=0, ge=0)  # 0 = one per core
    # Also run trafilatura's fallback extractors (readability, jusText) on every page
    # and keep the best: about +35 % CPU for +0.002 body F1 on the shared corpus
    # (benchmarks/extraction_eval.py), so off unless quality matters more than speed.
    fallback: bool = False
    # A page whose analysis runs longer than this fails (analysis_timeout) and its
    # worker is killed: a hostile page can send a parser into an endless loop.
    timeout_s: float = Field(default=120.0, gt=0)


class DedupSettings(_Strict):
    window_days: int = Field(default=30, ge=1)
    body_threshold: float = Field(default=85.0, ge=0, le=100)
    containment_threshold: float = Field(default=0.8, ge=0, le=1)
    title_threshold: float = Field(default=90.0, ge=0, le=100)
    min_words: int = Field(default=25, ge=1)
    max_candidates: int = Field(default=20, ge=1)


class AlertSettings(_Strict):
    enabled: bool = False
    webhook_url: str | None = None
    apprise_urls: tuple[str, ...] = ()
    timeout_s: float = Field(default=10.0, gt=0)


class ServeSettings(_Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=1, le=65535)
    run_limit: int = Field(default=4, ge=1)
    # How often `newsmon serve` asks the Prefect server for runs to start. Prefect's
    # default (10 s) alone breaks the 5 s trigger-to-verdict goal of ingest-url.
    query_seconds: float = Field(default=1.0, gt=0, le=60)
    # Fork flow runs from a preloaded process instead of spawning cold ones (~3 s saved).
    warm_start: bool = True


class FileConfig(_Strict):
    """The on-disk shape of ``feeds.yaml``."""

    feeds: tuple[FeedConfig, ...] = ()
    stories: tuple[str, ...] = ()
    database_url: str | None = None
    data_dir: str | None = None
    fetch: FetchSettings = FetchSettings()
    poll: PollSettings = PollSettings()
    extraction: ExtractionSettings = ExtractionSettings()
    dedup: DedupSettings = DedupSettings()
    alerts: AlertSettings = AlertSettings()
    serve: ServeSettings = ServeSettings()


class Settings(_Strict):
    """Everything a run needs, after env overrides and path resolution."""

    config_path: Path
    database_url: str
    data_dir: Path
    story_paths: tuple[Path, ...]
    feeds: tuple[FeedConfig, ...]
    fetch: FetchSettings
    poll: PollSettings
    extraction: ExtractionSettings
    dedup: DedupSettings
    alerts: AlertSettings
    serve: ServeSettings

    def with_feeds(self, urls: list[str]) -> Settings:
        """A copy that polls exactly ``urls`` (``poll --feed``): not saved to the file."""
        feeds = tuple(FeedConfig(url=u, name=u) for u in urls)
        return self.model_copy(update={"feeds": feeds})


def format_validation_error(path: Path | str, error: ValidationError) -> str:
    """One line per problem: ``file: field.path: reason (got value)``."""
    lines = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"]) or "(top level)"
        got = item.get("input")
        shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
        lines.append(f"{path}: {where}: {item['msg']}{shown}")
    return "; ".join(lines)


def read_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "(unknown line)"
        problem = getattr(exc, "problem", None) or str(exc)
        detail = " ".join(str(problem).split())
        raise ConfigError(f"{path}: {where}: invalid YAML: {detail}") from exc


def load_file_config(path: Path) -> FileConfig:
    data = read_yaml(path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: (top level): expected a mapping, got {type(data).__name__}")
    try:
        return FileConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(path, exc)) from exc


def _env_float(env: dict[str, str], name: str) -> float | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(
            f"environment: {name}: expected a number of seconds (got {raw!r})"
        ) from None
    if value < 0:
        raise ConfigError(f"environment: {name}: expected a number >= 0 (got {raw!r})")
    return value


_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


def _env_bool(env: dict[str, str], name: str) -> bool | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"environment: {name}: expected 1/true/yes or 0/false/no (got {raw!r})")


def default_config_path(env: dict[str, str] | None = None) -> Path:
    env = dict(os.environ) if env is None else env
    if env.get("MONITOR_CONFIG"):
        return Path(env["MONITOR_CONFIG"]).expanduser()
    local = Path.cwd() / "config" / "feeds.yaml"
    return local if local.exists() else BUNDLED_CONFIG


def load_settings(
    config_path: Path | str | None = None, env: dict[str, str] | None = None
) -> Settings:
    """Read the config file, apply environment overrides, resolve paths."""
    env = dict(os.environ) if env is None else env
    path = Path(config_path).expanduser() if config_path else default_config_path(env)
    if not path.exists():
        raise ConfigError(f"{path}: config file not found (set MONITOR_CONFIG or --config)")
    file_cfg = load_file_config(path)
    base = path.resolve().parent

    data_dir = Path(env.get("MONITOR_DATA_DIR") or file_cfg.data_dir or "data").expanduser()
    database_url = (
        env.get("MONITOR_DATABASE_URL")
        or file_cfg.database_url
        or f"sqlite:///{(data_dir / 'newsmon.db').as_posix()}"
    )

    if env.get("MONITOR_STORIES"):
        story_paths = tuple(
            Path(p.strip()).expanduser() for p in env["MONITOR_STORIES"].split(",") if p.strip()
        )
    elif file_cfg.stories:
        story_paths = tuple((base / p).resolve() for p in file_cfg.stories)
    else:
        story_paths = tuple(sorted((base / "stories").glob("*.yaml"))) or tuple(
            sorted((BUNDLED_CONFIG.parent / "stories").glob("*.yaml"))
        )  # a feeds file on its own tracks the bundled stories
    for story in story_paths:
        if not story.exists():
            raise ConfigError(f"{path}: stories: story file not found: {story}")

    fetch = file_cfg.fetch
    interval = _env_float(env, "MONITOR_HOST_INTERVAL_S")
    if interval is not None:
        fetch = fetch.model_copy(update={"host_interval_s": interval})
    allow_private = _env_bool(env, "MONITOR_ALLOW_PRIVATE_NETWORKS")
    if allow_private is not None:
        fetch = fetch.model_copy(update={"allow_private_networks": allow_private})

    return Settings(
        config_path=path,
        database_url=database_url,
        data_dir=data_dir,
        story_paths=story_paths,
        feeds=file_cfg.feeds,
        fetch=fetch,
        poll=file_cfg.poll,
        extraction=file_cfg.extraction,
        dedup=file_cfg.dedup,
        alerts=file_cfg.alerts,
        serve=file_cfg.serve,
    )
