"""Survey app through real Voila and Debian chromium: speed, capacity, memory, answers kept.

Starts the survey exactly as ``onetoone survey serve`` does (the front door, the survey template,
preheated kernels), for a throw-away client in a temporary folder, and prints:

1. time from opening a personal link to the survey's name and to the first question: one
   respondent, ``--loads`` fresh links (median, min, max), with the preheated pool (the default)
   and without it (every kernel started on request: the option measured against);
2. ``--crowd`` respondents opening their links at once: median and worst time to the first question,
   first by the protocol without a browser (the page, then the widgets' state over the kernel's
   websocket: the server's share, as respondents' own devices would see it), then in Chromium
   on the same cores (each page costs Chromium ~3 CPU seconds: on 2 shared cores the browsers,
   not the server, set that figure);
3. memory after ``--openings`` link openings by plain HTTP (a mix of valid, used and unknown
   tokens, as a mail scanner pre-fetching links would do): Voila server RSS and server + kernels
   RSS, and the server's RSS growth over ``--visits`` refused visits (should stay flat);
4. the Voila server's RSS over ``--visits`` visits: ``--rounds`` rounds of ``--per-round``
   respondents who open the form and close the tab, with refused links between (flat: no growth
   round after round);
5. answers stored vs expected for ``--answering`` respondents answering the first part at once,
   on SQLite and on PostgreSQL (a throw-away server on 127.0.0.1 when the binaries exist).

Bars (issue 16): first question <= 3 s alone and <= 10 s with 30 at once; 200 openings in
under 6 GB; 0 answers lost. The figures depend on the machine's load: the script prints the load
average beside them.

Usage: ``python benchmarks/bench_survey.py [--loads 5] [--crowd 30] [--openings 200]
[--visits 500] [--rounds 5] [--per-round 30] [--answering 50] [--skip-postgres]
[--parts alone,crowd,openings,memory,answers]
[--warm N]`` (the pool defaults to serve's: sized from the memory available).
"""

from __future__ import annotations

import argparse
import asyncio
import glob
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lib"))

from onetoone.config import load_config
from onetoone.readiness.admin import free_port, start_voila
from onetoone.readiness.store import SurveyStore

CHROMIUM_ARGS = ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-default-apps"]
NAME = ".survey-loading-title, .survey-app h1"
FIRST_QUESTION = ".survey-radio input[type=radio]"
GB = 2**30


def _load() -> str:
    a, b, c = os.getloadavg()
    return f"load average {a:.1f} / {b:.1f} / {c:.1f} on {os.cpu_count()} cores"


def _tree_rss(pid: int) -> tuple[float, float]:
    """(server RSS, server + children RSS) in bytes."""
    server = psutil.Process(pid)
    total = own = server.memory_info().rss
    for p in server.children(recursive=True):
        try:
            total += p.memory_info().rss
        except psutil.Error:
            pass
    return own, total


def _voila_pid(proc) -> int:
    return proc.pid


def _wait_ready(base: str, proc, timeout: float = 120) -> None:
    t0 = time.monotonic()
    while True:
        if proc.poll() is not None:
            raise SystemExit("voila exited early")
        try:
            urllib.request.urlopen(f"{base}/voila/static/voila.js", timeout=3)
            return
        except Exception:  # noqa: BLE001
            if time.monotonic() - t0 > timeout:
                raise SystemExit("voila did not start") from None
            time.sleep(0.3)


def _wait_pool(proc, warm: int, timeout: float = 600) -> float:
    """Wait until ``warm`` preheated kernels run and are idle (their form imported); seconds waited."""
    t0 = time.monotonic()
    server = psutil.Process(proc.pid)
    while time.monotonic() - t0 < timeout:
        kids = [p for p in server.children(recursive=False) if "ipykernel" in " ".join(p.cmdline())]
        if len(kids) >= warm:
            try:
                busy = sum(p.cpu_percent(None) for p in kids)
                time.sleep(1.5)
                busy = sum(p.cpu_percent(None) for p in kids)
            except psutil.Error:
                continue
            if busy < 5:
                return time.monotonic() - t0
        else:
            time.sleep(1)
    return time.monotonic() - t0


def _stop(proc) -> None:
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _client(folder: Path, db_url: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    cfg = folder / "client.yaml"
    text = "client: Bench Retail\nas_of: 2026-06-30\nsources: []\n"
    if db_url:
        text += f"survey:\n  db_url: \"{db_url}\"\n"
    cfg.write_text(text)
    return cfg


def _tokens(cfg: Path, n: int, db_url: str | None = None) -> tuple[list[str], SurveyStore]:
    store = SurveyStore(db_url or load_config(cfg).survey_db_url)
    _, t = store.create_survey("Bench Retail", {"customers": n})
    return list(t["token"]), store


async def _open(browser, url: str, timeout: float = 300.0, answer: int = 0):
    # one browser context per respondent: as separate people's browsers, each with its own
    # connection pool (one profile allows 6 connections per host, which would queue the rest)
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    t0 = time.perf_counter()
    try:
        await page.goto(url, wait_until="commit", timeout=timeout * 1000)
        await page.locator(NAME).first.wait_for(state="visible", timeout=timeout * 1000)
        t_name = time.perf_counter() - t0
        await page.locator(FIRST_QUESTION).first.wait_for(state="visible", timeout=timeout * 1000)
        t_q = time.perf_counter() - t0
        if answer:
            items = page.locator(".survey-radio")
            n = await items.count()
            for i in range(n):
                await items.nth(i).locator("input[type=radio]").nth(i % 5).check(timeout=timeout * 1000)
            await page.locator(".survey-progress-label").filter(
                has_text=f"{n} of {n} answered").wait_for(timeout=timeout * 1000)
        return t_name, t_q
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"
    finally:
        await page.close(run_before_unload=True)
        await context.close()


def _chromium_cpu() -> float:
    """CPU seconds used so far by the Chromium processes the benchmark started."""
    total = 0.0
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "chromium" in " ".join(p.info["cmdline"] or []):
                c = p.cpu_times()
                total += c.user + c.system
        except psutil.Error:
            pass
    return total


async def _open_protocol(base: str, token: str, timeout: float = 300.0, answer: tuple = (),
                         close: bool = False):
    """What a respondent's page asks the server for, without a browser: the page (streamed to
    its end, the form's cell executed), then, over the kernel's websocket, the state of every
    widget (what ipywidgets' front end requests before it draws the form).
    ``(widgets, seconds to their state)``, or ``(None, error)``. With ``answer`` (item ids), then
    picks an answer for each of those items' radio buttons, as a click in the page sends it.
    With ``close``, ends as closing the tab does: the page's close-tab shutdown request."""
    import json
    import re
    import uuid

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest
    from tornado.websocket import websocket_connect

    t0 = time.perf_counter()
    try:
        resp = await AsyncHTTPClient(max_clients=200).fetch(
            HTTPRequest(f"{base}/?token={token}", request_timeout=timeout, connect_timeout=timeout))
        body = resp.body.decode()
        m = re.search(r'"kernelId":\s*"([0-9a-f-]+)"', body)
        if not m or "survey-app" not in body and "application/vnd.jupyter.widget-view" not in body:
            return None, "page without the form"
        session = uuid.uuid4().hex
        ws = await websocket_connect(f"{base.replace('http', 'ws', 1)}/api/kernels/{m.group(1)}/"
                                     f"channels?session_id={session}", connect_timeout=timeout)

        def msg(msg_type, content):
            return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type,
                                          "username": "bench", "session": session,
                                          "date": "", "version": "5.3"},
                               "parent_header": {}, "metadata": {"version": "1.0.0"},
                               "content": content,
                               "channel": "shell", "buffers": []})

        comm_id = uuid.uuid4().hex
        await ws.write_message(msg("comm_open", {"comm_id": comm_id, "data": {},
                                                 "target_name": "jupyter.widget.control"}))
        await ws.write_message(msg("comm_msg", {"comm_id": comm_id,
                                                "data": {"method": "request_states"}}))
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            raw = await asyncio.wait_for(ws.read_message(), deadline - time.perf_counter())
            if raw is None:
                return None, "websocket closed"
            if isinstance(raw, bytes):
                continue
            data = json.loads(raw)
            if data.get("msg_type") == "comm_msg" and \
                    data["content"].get("data", {}).get("method") == "update_states":
                took = time.perf_counter() - t0
                states = data["content"]["data"].get("states", {})
                for k, item in enumerate(answer):
                    wanted = f"survey-q-{item}"
                    model = next((mid for mid, st in states.items()
                                  if wanted in st["state"].get("_dom_classes", ())), None)
                    if model is None:
                        ws.close()
                        return None, f"no radio buttons for {item}"
                    await ws.write_message(msg("comm_msg", {"comm_id": model, "data": {
                        "method": "update", "state": {"index": k % 5}, "buffer_paths": []}}))
                    await asyncio.sleep(0.05)
                if answer:
                    await asyncio.sleep(2)  # the last saves (~60 ms each)
                ws.close()
                if close:
                    await _close_tab(base, m.group(1), resp)
                return len(states), took
        return None, "no widget state"
    except Exception as exc:  # noqa: BLE001
        return None, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"


async def _close_tab(base: str, kernel_id: str, resp) -> None:
    """The page's close-tab request (navigator.sendBeacon to api/shutdown with the _xsrf cookie)."""
    from http.cookies import SimpleCookie

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest

    jar = SimpleCookie()
    for raw in resp.headers.get_list("Set-Cookie"):
        jar.load(raw)
    xsrf = jar["_xsrf"].value if "_xsrf" in jar else ""
    await AsyncHTTPClient().fetch(HTTPRequest(
        f"{base}/voila/api/shutdown/{kernel_id}", method="POST", body=f"_xsrf={xsrf}",
        headers={"Cookie": f"_xsrf={xsrf}",
                 "Content-Type": "application/x-www-form-urlencoded"}), raise_error=False)


async def _browser_run(coro_factory):
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            return await coro_factory(browser)
        finally:
            await browser.close()


def _fmt(xs: list[float]) -> str:
    if not xs:
        return "none succeeded"
    return (f"median {statistics.median(xs):.2f} s, min {min(xs):.2f}, max {max(xs):.2f} "
            f"(n={len(xs)})")


def bench_alone(folder: Path, loads: int, warm: int | None) -> None:
    cfg = _client(folder)
    tokens, store = _tokens(cfg, loads + 1)
    proc = start_voila(cfg, log_path=folder / "voila.log", warm=warm)
    base, warm = proc.base_url, proc.warm
    try:
        _wait_ready(base, proc)
        _wait_pool(proc, warm)  # the pool filled (a server that has been up a while)

        async def run(browser):
            out = []
            for tok in tokens[:loads]:
                out.append(await _open(browser, f"{base}/?token={tok}"))
                await asyncio.sleep(3 if warm else 1)  # the pool refills between respondents
            return out

        res = asyncio.run(_browser_run(run))
        names = [r[0] for r in res if r[0] is not None]
        qs = [r[1] for r in res if r[0] is not None]
        fails = [r[1] for r in res if r[0] is None]
        label = f"preheated pool of {warm}" if warm else "no pool (kernel started per request)"
        print(f"1 respondent, {loads} loads, {label}: survey name {_fmt(names)}; "
              f"first question {_fmt(qs)}" + (f"; {len(fails)} failed: {fails[:2]}" if fails else ""))
        print(f"   ({_load()})")
    finally:
        _stop(proc)
        store.close()


def bench_crowd(folder: Path, crowd: int, warm: int | None, browsers: bool = True,
                protocol: bool = True) -> None:
    """``crowd`` respondents opening their links at once: first without a browser (the server's
    share: page and widget state over the websocket), then in Chromium (on the same cores)."""
    for kind in [k for k, on in (("protocol", protocol), ("chromium", browsers)) if on]:
        cfg = _client(folder / kind)
        tokens, store = _tokens(cfg, crowd)
        proc = start_voila(cfg, log_path=folder / kind / "voila.log", warm=warm,
                           max_kernels=crowd + 10)
        base, pool = proc.base_url, proc.warm
        try:
            _wait_ready(base, proc)
            waited = _wait_pool(proc, pool)
            if kind == "protocol":
                async def run(base=base, tokens=tokens):
                    return await asyncio.gather(*[_open_protocol(base, t) for t in tokens])

                res = asyncio.run(run())
                label = "by the protocol, no browser (page + widget state over the websocket)"
                cpu = ""
            else:
                used = []

                async def run_b(browser, base=base, tokens=tokens, used=used):
                    c0 = _chromium_cpu()
                    out = await asyncio.gather(*[_open(browser, f"{base}/?token={t}") for t in tokens])
                    used.append(_chromium_cpu() - c0)  # before the browser closes
                    return out

                res = asyncio.run(_browser_run(run_b))
                label = "in Chromium on the same cores"
                cpu = f"; Chromium used {used[0] / crowd:.1f} CPU s per page"
            qs = [r[1] for r in res if r[0] is not None]
            fails = [r[1] for r in res if r[0] is None]
            head = (f"first question median {statistics.median(qs):.1f} s, worst {max(qs):.1f} s "
                    f"over {len(qs)}" if qs else "none reached the first question")
            print(f"{crowd} respondents opening at once {label} (pool of {pool}, ready after "
                  f"{waited:.0f} s): {head}{cpu}"
                  + (f"; {len(fails)} failed: {fails[:2]}" if fails else ""))
            print(f"   ({_load()})")
        finally:
            _stop(proc)
            store.close()


def bench_openings(folder: Path, openings: int, visits: int, warm: int | None, cap: int) -> None:
    cfg = _client(folder)
    n_valid = openings * 3 // 10
    n_used = openings * 3 // 10
    tokens, store = _tokens(cfg, n_valid + n_used)
    valid, used = tokens[:n_valid], tokens[n_valid:]
    for tok in used:
        for item in store.qs.required_items("customer"):
            store.save_answer(tok, item, 3)
        store.submit(tok)
    unknown = [f"{'x' * 40}{i:03d}" for i in range(openings - n_valid - n_used)]
    proc = start_voila(cfg, log_path=folder / "voila.log", warm=warm, max_kernels=cap)
    base, warm = proc.base_url, proc.warm
    try:
        _wait_ready(base, proc)
        _wait_pool(proc, warm)
        own0, total0 = _tree_rss(_voila_pid(proc))
        order = [t for trio in zip(valid, used, unknown, strict=False) for t in trio]
        order += [t for t in valid + used + unknown if t not in set(order)]
        statuses: dict[int, int] = {}

        def get(tok: str) -> int:
            try:
                with urllib.request.urlopen(f"{base}/?token={tok}", timeout=300) as r:
                    r.read()
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code
            except Exception:  # noqa: BLE001
                return -1

        t0 = time.perf_counter()
        with ThreadPoolExecutor(10) as pool:
            for code in pool.map(get, order):
                statuses[code] = statuses.get(code, 0) + 1
        took = time.perf_counter() - t0
        own1, total1 = _tree_rss(_voila_pid(proc))
        kernels = len(psutil.Process(proc.pid).children(recursive=True))
        print(f"{len(order)} openings by HTTP ({n_valid} valid, {n_used} used, {len(unknown)} unknown; "
              f"kernel cap {cap}, pool {warm}) in {took:.0f} s: statuses {dict(sorted(statuses.items()))}; "
              f"Voila server {own1 / GB:.2f} GB (was {own0 / GB:.2f}), server + {kernels} kernels "
              f"{total1 / GB:.2f} GB (was {total0 / GB:.2f})")
        t1 = time.perf_counter()
        while len(psutil.Process(proc.pid).children(recursive=True)) > warm + 1 and time.perf_counter() - t1 < 200:
            time.sleep(2)
        own2, total2 = _tree_rss(_voila_pid(proc))
        print(f"   {time.perf_counter() - t1:.0f} s later (culling of pages never opened in a browser): "
              f"server + kernels {total2 / GB:.2f} GB, {len(psutil.Process(proc.pid).children(recursive=True))} "
              f"kernels")
        refused = (used + unknown) * (visits // max(1, len(used + unknown)) + 1)
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(get, refused[: visits // 2]))
        own3, _ = _tree_rss(_voila_pid(proc))
        with ThreadPoolExecutor(10) as pool:
            list(pool.map(get, refused[visits // 2: visits]))
        own4, _ = _tree_rss(_voila_pid(proc))
        print(f"   {visits} refused visits (used and unknown links): Voila server RSS "
              f"{own2 / 2**20:.0f} -> {own3 / 2**20:.0f} -> {own4 / 2**20:.0f} MB "
              f"({(own4 - own3) / 2**10 / max(1, visits // 2):.1f} KB per visit over the second half)")
        print(f"   ({_load()})")
    finally:
        _stop(proc)
        store.close()


def bench_memory(folder: Path, rounds: int, per_round: int, visits: int, warm: int | None) -> None:
    """Server memory over many visits: ``rounds`` of ``per_round`` respondents who open their link,
    get the form (page and widget state) and close the tab, ten at a time, each round followed
    by refused visits (used and unknown links) up to ``visits`` in all; the Voila server's RSS
    after each round, once its kernels are gone. Flat means no growth round after round (the
    first round sets the allocator's high-water mark for ten kernels at once)."""
    cfg = _client(folder)
    tokens, store = _tokens(cfg, rounds * per_round + 20)
    used = tokens[rounds * per_round:]
    for tok in used:
        for item in store.qs.required_items("customer"):
            store.save_answer(tok, item, 3)
        store.submit(tok)
    unknown = [f"{'y' * 40}{i:03d}" for i in range(20)]
    refused_each = max(0, visits // rounds - per_round)
    proc = start_voila(cfg, log_path=folder / "voila.log", warm=warm, max_kernels=per_round + 10)
    base, warm = proc.base_url, proc.warm
    try:
        _wait_ready(base, proc)
        _wait_pool(proc, warm)
        own0, _ = _tree_rss(_voila_pid(proc))
        series, failed, n_visits = [own0], 0, 0

        def get(tok: str) -> int:
            try:
                with urllib.request.urlopen(f"{base}/?token={tok}", timeout=300) as r:
                    r.read()
                    return r.status
            except urllib.error.HTTPError as exc:
                return exc.code

        for r in range(rounds):
            batch = tokens[r * per_round:(r + 1) * per_round]

            async def run(batch=batch):
                sem = asyncio.Semaphore(10)

                async def one(tok):
                    async with sem:
                        return await _open_protocol(base, tok, close=True)
                return await asyncio.gather(*[one(t) for t in batch])

            res = asyncio.run(run())
            failed += sum(1 for x in res if x[0] is None)
            refused = (used + unknown) * (refused_each // 40 + 1)
            with ThreadPoolExecutor(10) as pool:
                list(pool.map(get, refused[:refused_each]))
            n_visits += len(batch) + refused_each
            t1 = time.perf_counter()  # the closed tabs' kernels shut down, the pool refilled
            while len(psutil.Process(proc.pid).children(recursive=True)) > warm + 1 \
                    and time.perf_counter() - t1 < 120:
                time.sleep(1)
            _wait_pool(proc, warm, timeout=120)
            time.sleep(RELEASE_WAIT)
            series.append(_tree_rss(_voila_pid(proc))[0])
        mb = [x / 2**20 for x in series]
        grow = (mb[-1] - mb[1]) / max(1, (rounds - 1) * per_round)
        print(f"{n_visits} visits ({rounds * per_round} respondents opening the form and closing the "
              f"tab, {n_visits - rounds * per_round} refused links), pool {warm}: Voila server RSS "
              f"{' -> '.join(f'{x:.0f}' for x in mb)} MB (start, then after each round); after the "
              f"first round {grow * 1024:.0f} KB per respondent"
              + (f"; {failed} did not get the form" if failed else ""))
        print(f"   ({_load()})")
    finally:
        _stop(proc)
        store.close()


RELEASE_WAIT = 12
"""Seconds after a round for the server's periodic memory release (every 10 s at most)."""


def bench_answers(folder: Path, n: int, warm: int | None, db_url: str | None, label: str) -> None:
    cfg = _client(folder, db_url)
    tokens, store = _tokens(cfg, n, db_url)
    expected_per = len(store.qs.for_audience("customer")[0].items("customer"))
    proc = start_voila(cfg, log_path=folder / "voila.log", warm=warm, max_kernels=n + 10,
                       db_url=db_url)
    base, warm = proc.base_url, proc.warm
    try:
        _wait_ready(base, proc)
        waited = _wait_pool(proc, warm)

        items = [it.id for _, it in store.qs.for_audience("customer")[0].items("customer")]

        async def run():
            return await asyncio.gather(*[_open_protocol(base, t, timeout=600, answer=items)
                                          for t in tokens])

        t0 = time.perf_counter()
        res = asyncio.run(run())
        took = time.perf_counter() - t0
        stored = store.count("answers")
        fails = [r[1] for r in res if r[0] is None]
        print(f"{n} respondents answering part 1 at once on {label}, by the protocol (pool of {warm}, ready after "
              f"{waited:.0f} s): {stored} answers stored, "
              f"{n * expected_per} expected ({n * expected_per - stored} lost) in {took:.0f} s"
              + (f"; {len(fails)} respondents' pages failed: {fails[:2]}" if fails else ""))
        print(f"   ({_load()})")
    finally:
        _stop(proc)
        store.close()


def _postgres(root: Path):
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        return None, None
    bindir = Path(found[-1]).parent
    prefix = []
    data = root / "pg"
    if os.geteuid() == 0:
        import pwd

        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    port = free_port()
    proc = subprocess.Popen([*prefix, str(bindir / "postgres"), "-D", str(data), "-p", str(port),
                             "-h", "127.0.0.1", "-k", str(root), "-c", "max_connections=400",
                             "-c", "fsync=off"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            start_new_session=True)
    for _ in range(150):
        if subprocess.run([str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                          capture_output=True, check=False).returncode == 0:
            return proc, f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
        time.sleep(0.2)
    _stop(proc)
    return None, None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--loads", type=int, default=5)
    ap.add_argument("--crowd", type=int, default=30)
    ap.add_argument("--openings", type=int, default=200)
    ap.add_argument("--visits", type=int, default=500)
    ap.add_argument("--answering", type=int, default=50)
    ap.add_argument("--warm", type=int, default=None,
                    help="preheated kernels (default: serve's, sized from the memory available)")
    ap.add_argument("--crowd-kinds", default="protocol,chromium",
                    help="crowd measured by the protocol (no browser) and/or in Chromium")
    ap.add_argument("--cap", type=int, default=40, help="kernel cap for the openings (serve's default)")
    ap.add_argument("--rounds", type=int, default=5, help="memory: rounds of respondents")
    ap.add_argument("--per-round", type=int, default=30, help="memory: respondents per round")
    ap.add_argument("--skip-postgres", action="store_true")
    ap.add_argument("--parts", default="alone,crowd,openings,memory,answers",
                    help="which measurements, comma-separated (default: all)")
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench_survey_"))
    print(f"machine: {psutil.cpu_count()} cores, {psutil.virtual_memory().total / GB:.0f} GB; "
          f"{_load()} at the start (shared machine: figures are slower than on a quiet one)")
    try:
        parts = set(args.parts.split(","))
        if "alone" in parts:
            bench_alone(root / "alone_pool", args.loads, args.warm)
            bench_alone(root / "alone_nopool", args.loads, 0)
        if args.crowd and "crowd" in parts:
            bench_crowd(root / "crowd", args.crowd, args.warm,
                        browsers="chromium" in args.crowd_kinds,
                        protocol="protocol" in args.crowd_kinds)
        if args.openings and "openings" in parts:
            bench_openings(root / "openings", args.openings, args.visits, args.warm, args.cap)
        if "memory" in parts:
            bench_memory(root / "memory", args.rounds, args.per_round, args.visits, args.warm)
        if args.answering and "answers" in parts:
            bench_answers(root / "answers_sqlite", args.answering, args.warm, None, "SQLite")
            if not args.skip_postgres:
                pg, url = _postgres(root)
                if pg is None:
                    print("PostgreSQL: binaries not found under /usr/lib/postgresql; skipped")
                else:
                    try:
                        bench_answers(root / "answers_pg", args.answering, args.warm, url, "PostgreSQL")
                    finally:
                        _stop(pg)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
