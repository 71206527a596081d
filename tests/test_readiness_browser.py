"""The survey in a real browser: Playwright drives Debian chromium against the Voila app.

Two walks: a manager on a phone-sized window on plain loopback HTTP (the form's behaviour), and
customers through nginx over HTTPS with a self-signed certificate (the deployment path, the
kernel cap and the close-tab release). Every request must go to 127.0.0.1 only.
"""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from conftest import stop_process_group, wait_for_http, write_client_yaml
from playwright.sync_api import expect

from onetoone.config import load_config
from onetoone.readiness import admin
from onetoone.readiness.store import SurveyStore

pytestmark = pytest.mark.browser
TIMEOUT = 90_000


def _store(server) -> SurveyStore:
    return SurveyStore(load_config(server.config).survey_db_url)


def _hosts(page) -> set[str]:
    hosts: set[str] = set()
    page.on("request", lambda r: hosts.add(r.url.split("/")[2].rsplit(":", 1)[0]))
    return hosts


def _answer(page, store: SurveyStore, questionnaire: str, audience: str, pick, skip=()) -> list[str]:
    ids = [it.id for _, it in store.qs.get(questionnaire).items(audience)]
    for k, item_id in enumerate(ids):
        if item_id in skip:
            continue
        radios = page.locator(f".survey-q-{item_id} input[type=radio]")
        expect(radios.first).to_be_visible(timeout=TIMEOUT)
        radios.nth(pick(k)).check()
    return ids


def _top_of(page, selector: str) -> float:
    return page.locator(selector).first.evaluate("e => e.getBoundingClientRect().top")


def test_manager_answers_reloads_submits_and_the_link_is_then_used(page, voila_survey, tmp_path):
    """On a phone-sized window (390 x 844): each page load is a fresh kernel, so one walk covers it all."""
    page.set_viewport_size({"width": 390, "height": 844})
    hosts = _hosts(page)
    with _store(voila_survey) as store:
        _, t = store.create_survey("Acme Retail", {"managers": 1})
        token = t["token"][0]
        page.set_default_timeout(TIMEOUT)
        page.goto(voila_survey.link(token), wait_until="commit")
        # the survey's name comes before the form (sent before the kernel is taken)
        expect(page.get_by_role("heading", name="Readiness survey for Acme Retail").first).to_be_visible(
            timeout=TIMEOUT)
        expect(page.get_by_text("A survey for managers of Acme Retail")).to_be_visible(timeout=TIMEOUT)
        bv_ids = [it.id for _, it in store.qs.get("broad_view").items("manager")]
        gap_first = next(it.id for _, it in store.qs.get("gap").items("manager"))
        # all but the 3rd question, then Next: refused, and the page jumps to the unanswered one
        bv = _answer(page, store, "broad_view", "manager", lambda k: k % 5, skip=(bv_ids[2],))
        page.get_by_role("button", name="Next").click()
        expect(page.locator(".survey-status")).to_contain_text("marked in red", timeout=TIMEOUT)
        missing = f".survey-item:has(.survey-q-{bv[2]})"
        expect(page.locator(f"{missing}.survey-missing")).to_be_visible(timeout=TIMEOUT)
        page.wait_for_timeout(500)
        assert 0 <= _top_of(page, missing) < 200, "the page did not jump to the unanswered question"
        # "questions left" link at the top also jumps there
        page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
        page.locator(".survey-progress-label .survey-jump").click()
        page.wait_for_timeout(300)
        assert 0 <= _top_of(page, missing) < 200
        page.locator(f".survey-q-{bv[2]} input[type=radio]").nth(2).check()
        n_bv = len(bv)
        expect(page.locator(".survey-progress-label")).to_contain_text(f"{n_bv} of {n_bv} answered",
                                                                      timeout=TIMEOUT)
        assert len(store.draft(token).answers) == n_bv  # saved as they went
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the page scrolls sideways on a phone: {width}px wide"
        # a comment typed, the tab reloaded without leaving the box: it is kept
        box = page.locator(".survey-comment-identify textarea")
        box.fill("Each shop keeps its own list.")
        deadline = time.monotonic() + 20
        while store.draft(token).comments.get("identify") != "Each shop keeps its own list.":
            assert time.monotonic() < deadline, "the comment was not saved while typing"
            time.sleep(0.3)
        page.screenshot(path=str(tmp_path / "phone.png"))
        # Next from the bottom of the page: part 2 opens at its top
        page.get_by_role("button", name="Next").scroll_into_view_if_needed()
        page.get_by_role("button", name="Next").click()
        expect(page.locator(f".survey-q-{gap_first} input").first).to_be_visible(timeout=TIMEOUT)
        page.wait_for_timeout(300)
        assert page.evaluate("window.scrollY") < 50, "part 2 opened mid-page"

        page.reload(wait_until="commit")  # a new kernel: the draft comes back
        expect(page.get_by_text("Welcome back")).to_be_visible(timeout=TIMEOUT)
        # the whole first part is answered, so the form opens on part 2; go back to check it
        page.get_by_role("button", name="Back").click()
        first = page.locator(f".survey-q-{bv[0]} input[type=radio]")
        expect(first.nth(0)).to_be_checked(timeout=TIMEOUT)
        expect(page.locator(f".survey-q-{bv[3]} input[type=radio]").nth(3)).to_be_checked()
        expect(page.locator(".survey-comment-identify textarea")).to_have_value("Each shop keeps its own list.")
        page.get_by_role("button", name="Next").click()

        gap = _answer(page, store, "gap", "manager", lambda k: 2)
        page.get_by_role("button", name="Submit").click()
        expect(page.get_by_text("Thank you")).to_be_visible(timeout=TIMEOUT)
        assert store.count("submissions") == 1
        saved = store.answers()
        assert len(saved) == n_bv + len(gap)
        assert saved.set_index("item_id")["value"][bv[4]] == 5
        assert set(saved.loc[saved["questionnaire"] == "gap", "value"]) == {3}
        assert store.comments()["text"].tolist() == ["Each shop keeps its own list."]

        page.goto(voila_survey.link(token), wait_until="domcontentloaded")
        expect(page.get_by_text("Already submitted")).to_be_visible(timeout=TIMEOUT)
        assert store.count("submissions") == 1
        body = page.locator("body").inner_text()
        assert "Traceback" not in body and "survey_app(" not in body  # no code, no tracebacks
    assert hosts == {"127.0.0.1"}, f"requests left the server: {hosts}"


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def _kernel_gone(base: str, kernel_id: str, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            urllib.request.urlopen(f"{base}/api/kernels/{kernel_id}", timeout=3)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return time.monotonic() - start
        time.sleep(0.5)
    raise AssertionError(f"kernel {kernel_id} still running {timeout:.0f} s after the tab closed")


@pytest.mark.slow
def _gzipped(url: str) -> bool:
    """Does the server send ``url`` gzip-compressed to a client that accepts it?"""
    import ssl

    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    req = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(req, context=ctx, timeout=30) as r:
        return r.headers.get("Content-Encoding") == "gzip"


def test_customers_through_nginx_over_https_with_a_kernel_cap(browser, nginx_bin, tmp_path):
    """`survey serve --public-url https://...` behind the nginx site it writes, TLS with a
    self-signed certificate; one kernel allowed: the second respondent is told to retry, and
    gets the form once the first closes the tab."""
    folder = tmp_path / "client"
    config = write_client_yaml(folder)
    voila_port, https_port = admin.free_port(), admin.free_port()
    public = f"https://127.0.0.1:{https_port}"
    links_csv = folder / "links.csv"
    from onetoone.readiness.cli import main

    assert main(["survey", "create", str(config), "--group", "customers=2", "--base-url", public,
                 "--out", str(links_csv)]) == 0
    import pandas as pd

    links = pd.read_csv(links_csv)["link"].tolist()
    assert all(x.startswith(f"{public}/?token=") for x in links)
    cert, key = _self_signed(tmp_path)
    site = admin.nginx_config(public, voila_port, client="Acme Retail", cert=str(cert), key=str(key),
                              listen_ip="127.0.0.1", access_log=str(tmp_path / "access.log"))
    (tmp_path / "site.conf").write_text(site)
    temp = tmp_path / "nginx_tmp"
    temp.mkdir()
    user = "user root;\n" if __import__("os").geteuid() == 0 else ""
    (tmp_path / "nginx.conf").write_text(
        f"{user}daemon off;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        f"events {{ worker_connections 256; }}\nhttp {{\n"
        + "".join(f"  {k}_temp_path {temp}/{k};\n" for k in ("client_body", "proxy", "fastcgi",
                                                             "uwsgi", "scgi"))
        + f"  include {tmp_path}/site.conf;\n}}\n")
    nginx = subprocess.Popen([nginx_bin, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    voila = admin.start_voila(config, port=voila_port, log_path=tmp_path / "voila.log", max_kernels=1,
                              warm=1)
    context = browser.new_context(ignore_https_errors=True)
    try:
        wait_for_http(f"http://127.0.0.1:{voila_port}/voila/static/voila.js", proc=voila)
        a = context.new_page()
        hosts = _hosts(a)
        a.goto(links[0], wait_until="commit")
        expect(a.get_by_text("A survey for customers of Acme Retail")).to_be_visible(timeout=TIMEOUT)
        assert a.url.startswith("https://127.0.0.1")
        first = a.locator(".survey-radio input[type=radio]").first
        first.check()
        kernel_id = a.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId")
        b = context.new_page()
        b.goto(links[1], wait_until="domcontentloaded")
        expect(b.get_by_text("The survey is busy")).to_be_visible(timeout=TIMEOUT)
        expect(b.get_by_text("Your answers so far are safe")).to_be_visible()
        a.close(run_before_unload=True)
        freed = _kernel_gone(f"http://127.0.0.1:{voila_port}", kernel_id, timeout=60)
        b.reload(wait_until="commit")
        expect(b.get_by_text("A survey for customers of Acme Retail")).to_be_visible(timeout=TIMEOUT)
        with SurveyStore(load_config(config).survey_db_url) as store:
            assert len(store.draft(links[0].split("token=")[1]).answers) == 1
        assert hosts == {"127.0.0.1"}, hosts
        assert _gzipped(f"{public}/voila/static/voila.js")  # the scripts are compressed by nginx
        log = (tmp_path / "access.log").read_text()
        assert '"GET /"' in log and "token=" not in log  # the proxy logs no token
        print(f"kernel freed {freed:.1f} s after the tab closed")
    finally:
        context.close()
        stop_process_group(voila)
        stop_process_group(nginx)
