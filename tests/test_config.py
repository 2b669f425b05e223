"""config.toml: a working file loads; every kind of mistake is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import config as config_module
from app.errors import ConfigError

GOOD = """
[cache]
url = "sqlite:///data/seamdesk.db"

[systems.wms]
kind = "shiphero"
base_url = "https://public-api.shiphero.com"
token_env = "T_WMS"

[systems.erp]
kind = "netsuite"
base_url = "https://1234567.suitetalk.api.netsuite.com/"
token_env = "T_ERP"
timezone = "America/Chicago"

[locations]
DAL1 = { wms = "1001", erp = 7 }

[owners]
integration = "Integration team (#int-oncall)"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture(autouse=True)
def tokens(monkeypatch):
    monkeypatch.setenv("T_WMS", "wms-secret")
    monkeypatch.setenv("T_ERP", "erp-secret")


def test_a_good_config_loads_and_resolves_the_cache_beside_it(tmp_path):
    config = config_module.load(write(tmp_path, GOOD))
    assert config.cache_url == f"sqlite:///{tmp_path / 'data' / 'seamdesk.db'}"
    assert config.systems["erp"].base_url == "https://1234567.suitetalk.api.netsuite.com"
    assert config.location_code("erp") == {"7": "DAL1"}
    assert config.settings.refresh.sync_tolerance_seconds == 900
    assert config.token("wms") == "wms-secret"
    assert "secret" not in repr(config) and "secret" not in repr(config.tokens)


def test_absolute_and_postgres_urls_pass_through(tmp_path):
    base = tmp_path
    assert config_module.resolve_cache_url("sqlite:////var/x.db", base) == "sqlite:////var/x.db"
    url = "postgresql+psycopg://u@db/seamdesk"
    assert config_module.resolve_cache_url(url, base) == url


def test_a_postgresql_password_comes_from_password_env(tmp_path, monkeypatch):
    text = GOOD.replace('url = "sqlite:///data/seamdesk.db"',
                        'url = "postgresql+psycopg://desk@db:5432/seamdesk"\n'
                        'password_env = "SEAMDESK_CACHE_PASSWORD"')
    config = config_module.load(write(tmp_path, text))
    with pytest.raises(ConfigError, match=r"cache\.password_env: environment variable "
                                          r"SEAMDESK_CACHE_PASSWORD is not set"):
        _ = config.cache_url
    monkeypatch.setenv("SEAMDESK_CACHE_PASSWORD", "p@ss/w:rd")
    from sqlalchemy.engine import make_url

    assert make_url(config.cache_url).password == "p@ss/w:rd"  # quoted in the URL
    assert "p@ss/w:rd" in config.secrets()
    bad = write(tmp_path, text.replace('"SEAMDESK_CACHE_PASSWORD"', '"NOT A NAME"'))
    with pytest.raises(ConfigError, match=r"cache\.password_env"):
        config_module.load(bad)


@pytest.mark.parametrize("change,expected", [
    (("[owners]", "[owner]"), "owner: unknown key"),
    (('kind = "shiphero"', 'kind = "shiphero2"'),
     "systems.wms.kind: unknown connector kind 'shiphero2'"),
    (('kind = "shiphero"\n', ""), "systems.wms.kind: missing (required)"),
    (('token_env = "T_WMS"', "token_env = 5"), "systems.wms.token_env: Input should be"),
    (('base_url = "https://public-api.shiphero.com"', 'base_url = "ftp://x"'),
     "systems.wms.base_url: 'ftp://x' is not an http:// or https:// URL"),
    (('DAL1 = { wms = "1001", erp = 7 }', 'DAL1 = { wms = "1001", pos = "9" }'),
     "locations.DAL1: names system 'pos', which is not configured"),
    (('url = "sqlite:///data/seamdesk.db"', 'url = "sqlite:///x.db"\nhistory_days = "30"'),
     "cache.history_days: Input should be a valid integer"),
    (('timezone = "America/Chicago"', 'timezone = "Mars/Olympus"'),
     "systems.erp.timezone: unknown time zone 'Mars/Olympus'"),
    (("[systems.wms]", "[systems.pos]"), "systems: unknown system role 'pos'"),
    (("[cache]", "[cache"), "not valid TOML"),
    (("[owners]", '[handoff]\nwebhook_url = "ftp://x"\n[owners]'),
     "handoff.webhook_url: 'ftp://x' is not an http(s) URL"),
    (("[owners]", '[alert_destinations.ops]\nwebhook_url = "file:///x"\n[owners]'),
     "alert_destinations.ops.webhook_url: 'file:///x' is not an http(s) URL"),
])
def test_each_mistake_is_one_line_naming_file_key_and_problem(tmp_path, change, expected):
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(ConfigError) as caught:
        config_module.load(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ") and expected in message
    assert "\n" not in message


def test_an_unset_token_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("T_ERP")
    with pytest.raises(ConfigError, match=r"systems\.erp\.token_env: environment variable "
                                          r"T_ERP is not set"):
        config_module.load(write(tmp_path, GOOD))
    config = config_module.load(write(tmp_path, GOOD), require_tokens=False)
    with pytest.raises(ConfigError, match=r"\$T_ERP is not set"):
        config.token("erp")


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such config file"):
        config_module.load(tmp_path / "nope.toml")


def test_discovery_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert config_module.discover("given.toml") == Path("given.toml")
    monkeypatch.setenv("SEAMDESK_CONFIG", "from-env.toml")
    assert config_module.discover(None) == Path("from-env.toml")
    monkeypatch.delenv("SEAMDESK_CONFIG")
    write(tmp_path, GOOD)
    assert config_module.discover(None) == Path("config.toml")


def test_the_shipped_example_config_is_valid(monkeypatch):
    root = Path(__file__).resolve().parent.parent
    config = config_module.load(root / "config.toml", require_tokens=False)
    assert set(config.systems) >= {"wms", "erp", "storefront"}
