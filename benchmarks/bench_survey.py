"""Survey app: time from opening a personal link to visible questions, and memory per open respondent.

Starts Voila on notebooks/readiness_survey.ipynb exactly as ``onetoone survey serve`` does (for a
throw-away client in a temporary folder), then drives Debian chromium with Playwright:

- time to questions: ``page.goto(link)`` until the first question's radio buttons are visible,
  one fresh link (so a fresh kernel) per load; the first load is reported apart (cold caches);
- memory: several links kept open at once; the kernels' resident (RSS) and unique (USS) memory,
  and the growth of the whole server (Voila + kernels) per open respondent.

Usage: ``python benchmarks/bench_survey.py [--loads 7] [--open 4] [--screenshots DIR]``
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from onetoone.config import load_config
from onetoone.readiness.admin import start_voila
from onetoone.readiness.store import SurveyStore

CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]
FIRST_QUESTION = ".survey-q-bv_identify_channels input[type=radio]"


def _tree(proc: psutil.Process) -> list[psutil.Process]:
    return [p for p in [proc, *proc.children(recursive=True)] if p.is_running()]


def _kernels(server: psutil.Process) -> list[psutil.Process]:
    out = []
    for p in server.children(recursive=True):
        try:
            if p.status() != psutil.STATUS_ZOMBIE and "ipykernel" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def _mb(x: float) -> float:
    return x / 2**20


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=7, help="timed loads, each on a fresh link")
    ap.add_argument("--open", type=int, default=4, help="respondents kept open for the memory figure")
    ap.add_argument("--screenshots", help="folder for desktop and phone screenshots")
    args = ap.parse_args()

    from playwright.sync_api import expect, sync_playwright

    folder = Path(tempfile.mkdtemp(prefix="bench_survey_"))
    cfg_path = folder / "client.yaml"
    cfg_path.write_text("client: Bench Retail\nas_of: 2026-06-30\nsources: []\n")
    with SurveyStore(load_config(cfg_path).survey_db_url) as store:
        _, t = store.create_survey("Bench Retail", {"managers": 1 + args.loads + args.open + 2,
                                                    "customers": 2})
    managers = [x for g, x in zip(t["group"], t["token"]) if g == "managers"]
    customers = [x for g, x in zip(t["group"], t["token"]) if g == "customers"]

    proc = start_voila(cfg_path, log_path=folder / "voila.log")
    base = proc.base_url
    t0 = time.perf_counter()
    while True:
        try:
            urllib.request.urlopen(f"{base}/voila/static/voila.js", timeout=2)
            break
        except Exception:  # noqa: BLE001
            if time.perf_counter() - t0 > 90:
                raise SystemExit("voila did not start; see " + str(folder / "voila.log"))
            time.sleep(0.2)
    print(f"voila ready in {time.perf_counter() - t0:.1f} s")
    server = psutil.Process(proc.pid)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)

            def load(token: str, viewport=None):
                page = browser.new_page(viewport=viewport or {"width": 1280, "height": 900})
                start = time.perf_counter()
                page.goto(f"{base}/?token={token}", wait_until="domcontentloaded")
                expect(page.locator(FIRST_QUESTION).first).to_be_visible(timeout=120_000)
                return page, time.perf_counter() - start

            tokens = iter(managers)
            # memory first, from a clean slate (closed pages leave kernels running until culled)
            base_rss = sum(p.memory_info().rss for p in _tree(server))
            opened = [load(next(tokens)) for _ in range(args.open)]
            pages, cold = [p for p, _ in opened], opened[0][1]
            time.sleep(2)
            kernels = _kernels(server)
            rss = [k.memory_info().rss for k in kernels]
            uss = [k.memory_full_info().uss for k in kernels]
            total = sum(p.memory_info().rss for p in _tree(server))
            print(f"memory per open respondent ({len(kernels)} open at once): kernel RSS median "
                  f"{_mb(statistics.median(rss)):.0f} MB, USS median {_mb(statistics.median(uss)):.0f} MB; "
                  f"server growth {_mb((total - base_rss) / args.open):.0f} MB per respondent "
                  f"(Voila alone {_mb(base_rss):.0f} MB)")
            for p in pages:
                p.close()

            times = []
            for _ in range(args.loads):
                page, dt = load(next(tokens))
                times.append(dt)
                page.close()
            print(f"time from opening a link to visible questions: median {statistics.median(times):.2f} s "
                  f"over {len(times)} loads (min {min(times):.2f}, max {max(times):.2f}); "
                  f"first load after start {cold:.2f} s")

            if args.screenshots:
                out = Path(args.screenshots)
                out.mkdir(parents=True, exist_ok=True)
                page, _ = load(next(tokens))
                page.screenshot(path=str(out / "survey_desktop.png"))
                page.close()
                page, _ = load(customers[0], viewport={"width": 390, "height": 844})
                page.screenshot(path=str(out / "survey_phone.png"))
                page.locator(FIRST_QUESTION).nth(1).check()
                page.get_by_role("button", name="Next").scroll_into_view_if_needed()
                page.get_by_role("button", name="Next").click()
                time.sleep(1)
                page.screenshot(path=str(out / "survey_phone_missing.png"))
                page.close()
                print(f"screenshots in {out}")
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(20)


if __name__ == "__main__":
    main()
