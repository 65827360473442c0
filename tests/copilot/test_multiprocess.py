"""Two app processes behind one address, sharing one home and one Redis (a real redis-server
on loopback): a call's utterances sent to one process reach a console connected to the other,
with the form and the suggestions; the operator's edit made on the second is seen by the first;
and when Redis restarts, the consoles resync from a fresh snapshot."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilot.settings import Settings
from tests.web_ui.conftest import LiveServer

pytestmark = pytest.mark.slow

REDIS = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self) -> None:
        self.port = _free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS is not None
        self.proc = subprocess.Popen(
            [REDIS, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if REDIS is None:
        pytest.skip("needs redis-server (`make test` installs it: apt-get install redis-server)")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def two_servers(demo_home_template: Path, redis_server: RedisServer,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, ...]]:
    home = tmp_path_factory.mktemp("multiprocess") / "home"
    shutil.copytree(demo_home_template, home)
    settings = Settings(home=home, env="test", load_demo=False, redis_url=redis_server.url,
                        demo_audio_dir=None)
    servers = (LiveServer(settings), LiveServer(settings))
    for server in servers:
        server.start()
    yield servers
    for server in servers:
        server.stop()


class Console:
    """A console's events socket (sync websockets client), collecting what arrives."""

    def __init__(self, server: LiveServer, call_id: str) -> None:
        from websockets.sync.client import connect

        url = server.url.replace("http", "ws") + f"/api/v1/calls/{call_id}/events"
        self._stack = contextlib.ExitStack()
        self.ws = self._stack.enter_context(connect(url, additional_headers=server.headers()))
        self.events: list[dict[str, Any]] = []

    def wait_for(self, test: Any, what: str, timeout: float = 120) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        for event in self.events:
            if test(event):
                return event
        while time.monotonic() < deadline:
            try:
                event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            except TimeoutError:
                break
            self.events.append(event)
            if test(event):
                return event
        raise AssertionError(f"no {what} within {timeout:.0f} s; got "
                             f"{[e.get('type') for e in self.events]}")

    def close(self) -> None:
        self._stack.close()


def test_a_console_on_another_process_follows_the_call(two_servers: tuple[LiveServer, ...],
                                                       redis_server: RedisServer) -> None:
    a, b = two_servers
    call = "mp-1"
    on_b = Console(b, call)
    on_a = Console(a, call)
    try:
        assert on_b.wait_for(lambda e: e["type"] == "snapshot", "snapshot")
        said = "我叫王小明，电话13812345678，越秀区东风中路120号门口的路灯坏了一个星期了。"
        r = httpx.post(f"{a.url}/api/v1/calls/{call}/utterances", headers=a.headers(),
                       json={"speaker": "caller", "text": said, "wait": False}, timeout=60)
        assert r.status_code == 200, r.text

        final = on_b.wait_for(lambda e: e["type"] == "final", "final")
        assert final["text"] == said
        form = on_b.wait_for(lambda e: e["type"] == "form", "form")["form"]
        assert form["phone"]["value"] == "13812345678"
        tips = on_b.wait_for(lambda e: e["type"] == "suggestions", "suggestions")
        assert tips["answers"] and tips["for_utterance"] == 0
        # B's own copy of the call was brought up to date: its snapshot has all of it
        snap = httpx.get(f"{b.url}/api/v1/calls/{call}", headers=b.headers(), timeout=30).json()
        assert [u["text"] for u in snap["utterances"]] == [said]
        assert snap["suggested_for"] == 1 and snap["suggestions"]["answers"]

        # the operator's edit arrives at B; A (which holds the audio) sees it
        r = httpx.patch(f"{b.url}/api/v1/calls/{call}/form", headers=b.headers(),
                        json={"fields": {"caller_name": "王晓明"}}, timeout=30)
        assert r.status_code == 200, r.text
        edited = on_a.wait_for(lambda e: e["type"] == "form"
                               and e["form"]["caller_name"]["value"] == "王晓明", "edit on A")
        assert edited["form"]["caller_name"]["source"] == "operator"
        snap_a = httpx.get(f"{a.url}/api/v1/calls/{call}", headers=a.headers(),
                           timeout=30).json()
        assert snap_a["form"]["caller_name"]["value"] == "王晓明"

        # Redis goes away and comes back: the consoles are told to redraw from a snapshot
        redis_server.stop()
        redis_server.start()
        resynced = on_b.wait_for(lambda e: e["type"] == "snapshot"
                                 and len(e["call"]["utterances"]) == 1,
                                 "resync snapshot after Redis restarted", timeout=60)
        assert resynced["call"]["form"]["caller_name"]["value"] == "王晓明"
        r = httpx.post(f"{a.url}/api/v1/calls/{call}/utterances", headers=a.headers(),
                       json={"speaker": "agent", "text": "好的，我们马上登记。", "wait": False},
                       timeout=60)
        assert r.status_code == 200
        on_b.wait_for(lambda e: e["type"] == "final" and e["text"] == "好的，我们马上登记。",
                      "a final after Redis restarted")
    finally:
        on_a.close()
        on_b.close()
