"""The exported site in headless Chromium, one browser session for every check: the index with its runs, a run
page, and a sample browser whose shards load from file:// with model text shown as text, never as markup."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from harness.cli import main
from tests.conftest import REPO
from tests.test_site import EVIL, _store

ARTIFACTS = REPO / "out" / "test-artifacts"
CHROMIUM = os.environ.get("THINKBENCH_CHROMIUM", "/usr/bin/chromium")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> tuple[Path, list[str]]:
    tmp = tmp_path_factory.mktemp("site-browser")
    db, ids = _store(tmp / "s.duckdb")
    assert main(["export", "--out", str(tmp / "site"), "--db", str(db)]) == 0
    return tmp / "site", ids


def test_site_in_chromium(site):
    out, ids = site
    assert Path(CHROMIUM).exists(), f"Chromium missing at {CHROMIUM}; run tests/browser_setup.sh"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1400})
        errors: list[str] = []
        requests: list[str] = []
        dialogs: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: requests.append(r.url))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

        page.goto((out / "index.html").as_uri())
        page.locator("#chart polyline").first.wait_for(timeout=20000)
        assert page.locator("#runs tr").count() == 1 + len(ids)
        page.select_option("#axis", "flops")  # the axis switch redraws the runs table too
        assert page.locator("#runs tr").count() == 1 + len(ids)
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "site-index.png"), full_page=True)
        page.locator(f'#runs a[href="runs/{ids[1]}/index.html"]').click()
        page.get_by_text("Compute ledger").wait_for(timeout=10000)
        assert "thinkbench run --config run.yaml" in page.inner_text("body")
        page.screenshot(path=str(ARTIFACTS / "site-run.png"), full_page=True)

        page.goto((out / "runs" / "evil0000run1" / "samples.html").as_uri())
        page.locator("#detail pre").first.wait_for(timeout=10000)  # the first problem, from shard 000
        assert page.locator("#problems tr").count() == 1 + 50
        assert page.locator("#detail pre").first.text_content() == EVIL
        assert page.locator("#detail img").count() == 0 and page.locator("#detail script").count() == 0
        page.click("#next")
        assert page.inner_text("#pageinfo") == "problems 51-60 of 60"
        page.locator("#problems a", has_text="synth-00059").click()  # shard 002 loads on demand
        page.get_by_role("heading", name="Problem synth-00059").wait_for(timeout=10000)
        page.locator("#detail pre").nth(1).wait_for(timeout=10000)  # the heading can render before its samples
        assert page.locator("#detail pre").count() == 2
        page.select_option("#f", "right")
        assert page.inner_text("#pageinfo") == "problems 1-30 of 30"
        page.screenshot(path=str(ARTIFACTS / "site-samples.png"), full_page=True)
        browser.close()
    assert not errors, errors
    assert not dialogs, dialogs
    assert requests and all(u.startswith("file://") for u in requests), [u for u in requests if "file" not in u]
    assert any(u.endswith("/shards/002.js") for u in requests)
