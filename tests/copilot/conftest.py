"""Fixtures shared by the call tests of this folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.context import AppContext
from copilot.settings import Settings
from tests.conftest import sign_in


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An app allowing one audio stream, with an operator signed in (a module that needs
    another app defines its own ``client``)."""
    ctx = AppContext(settings.model_copy(update={"max_streams": 1}))
    with TestClient(create_app(context=ctx)) as c:
        c.headers.update(sign_in(c, ctx.db, "operator", ("operator",)))
        yield c
    ctx.close()
