"""CORS as a real browser enforces it: headless Chromium loads a page from one origin that calls
the API on another with credentials, as Deck's packages/core/src/api/ApiService.ts does
(``withCredentials``; a JSON POST is preflighted). The API allows the page's origin and not a
second one (``localhost`` is another origin than ``127.0.0.1``)."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from gennaker.api import create_app
from gennaker.testing import make_services
from tests.api.conftest import create_application
from tests.api.live import LiveServer, SyncClient
from tests.conftest import IN_CI
from tests.engine.fakes import EngineTestPlugin

pytestmark = pytest.mark.slow

PAGE = """<!doctype html><html><body><pre id="out">pending</pre><script>
const api = %(api)s;
async function run() {
  const out = {};
  try {
    const apps = await fetch(api + '/applications', {credentials: 'include'});
    out.apps = await apps.json();
    const valid = await fetch(api + '/pipelines/validate', {
      method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'},
      body: JSON.stringify({application: 'shop', name: 'p', stages: [{refId: '1', type: 'wait', waitTime: 1}]}),
    });
    out.validStatus = valid.status;
    out.valid = await valid.json();
  } catch (e) { out.error = String(e); }
  document.getElementById('out').textContent = JSON.stringify(out);
}
run();
</script></body></html>"""


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        problem = "Chromium is not installed (Debian package chromium)"
        if IN_CI:
            pytest.fail(problem)
        pytest.skip(problem)
    return found


@pytest.fixture
def page_port() -> Iterator[tuple[int, dict[str, str]]]:
    """A page server on a free 127.0.0.1 port; the dict maps paths to HTML."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], pages
    server.shutdown()
    server.server_close()


def _load(chromium: str, url: str, profile: Path) -> dict[str, Any]:
    result = subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    start = result.stdout.index('<pre id="out">') + len('<pre id="out">')
    text = result.stdout[start : result.stdout.index("</pre>", start)]
    parsed: dict[str, Any] = json.loads(text.replace("&quot;", '"').replace("&amp;", "&"))
    return parsed


def test_a_browser_on_an_allowed_origin_gets_answers_and_another_is_refused(
    sqlite_url: str, page_port: tuple[int, dict[str, str]], tmp_path: Path
) -> None:
    chromium = _chromium()
    port, pages = page_port
    allowed = f"http://127.0.0.1:{port}"
    services = make_services(sqlite_url, plugins=(EngineTestPlugin(),), api__cors__allowed_origins=[allowed])
    try:
        client = SyncClient(create_app(services))
        create_application(client)
        client.close()
        with LiveServer(services) as live:
            pages["/deck.html"] = PAGE % {"api": json.dumps(live.url)}
            ok = _load(chromium, f"{allowed}/deck.html", tmp_path / "a")
            assert "error" not in ok, ok
            assert [a["name"] for a in ok["apps"]] == ["shop"]
            assert ok["validStatus"] == 200 and ok["valid"] == {"valid": True}
            refused = _load(chromium, f"http://localhost:{port}/deck.html", tmp_path / "b")
            assert "Failed to fetch" in refused.get("error", ""), refused
    finally:
        services.close()
