"""End to end in headless Chromium: the live Streamlit app (via `thinkbench leaderboard`) and the static export.

Screenshots land in out/test-artifacts/. Chromium comes from the Debian package (tests/browser_setup.sh);
Playwright drives it through executable_path because it cannot download a browser here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from harness.cli import main
from leaderboard import synthetic
from tests.conftest import REPO, THINKBENCH

ARTIFACTS = REPO / "out" / "test-artifacts"
CHROMIUM = os.environ.get("THINKBENCH_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("browser") / "browser.duckdb"
    synthetic.write(path, "synth:browser", [synthetic.SynthConfig("weak", -0.5, 8),
                                            synthetic.SynthConfig("strong", 1.2, 8, scores=True),
                                            synthetic.SynthConfig("twin", 1.2, 8, seed=4)], problems=60)
    return path


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    assert Path(CHROMIUM).exists(), f"Chromium missing at {CHROMIUM}; run tests/browser_setup.sh"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamlit_app_in_chromium(db, browser):
    port = free_port()
    server = subprocess.Popen([THINKBENCH, "leaderboard", "--db", str(db), "--port", str(port), "--host", "127.0.0.1"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.time() + 90
        while True:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read()
            assert time.time() < deadline, "streamlit did not come up"
            time.sleep(0.5)
        page = browser.new_page(viewport={"width": 1400, "height": 1500})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
        page.get_by_text("Compute-matched leaderboard").wait_for(timeout=60000)
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=60000)
        chart = '[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
        page.locator(chart).first.wait_for(timeout=60000)
        page.wait_for_timeout(1500)  # let the chart finish drawing
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shot = ARTIFACTS / "leaderboard-app.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        assert "shared problems" in page.inner_text("body")
        page.get_by_text("Run", exact=True).click()
        page.get_by_text("git_revision").wait_for(timeout=30000)
        page.screenshot(path=str(ARTIFACTS / "leaderboard-run.png"), full_page=True)
        assert not errors, errors
    finally:
        server.terminate()  # `thinkbench leaderboard` execs streamlit, so this stops the server itself
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)


def test_static_export_in_chromium(db, tmp_path, browser):
    site = tmp_path / "site"
    assert main(["export", "--out", str(site), "--db", str(db)]) == 0
    page = browser.new_page(viewport={"width": 1200, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto((site / "index.html").as_uri())
    page.locator("#chart polyline").first.wait_for(timeout=20000)
    assert page.locator("#table tr").count() == 1 + 4  # header + majority x3 + best-of-k
    assert page.locator("#frontier").count() == 1
    first = page.locator("#table tr").nth(1).inner_text()
    page.select_option("#axis", "flops")
    assert "FLOPs" in page.inner_text("#title") and page.locator("#table tr").nth(1).inner_text() != first
    page.locator("#legend span").first.click()  # toggling a series redraws without it
    assert page.locator("#legend span.off").count() == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "leaderboard-export.png"), full_page=True)
    assert not errors, errors
