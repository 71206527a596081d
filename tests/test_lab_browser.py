"""The workshop widgets in JupyterLab, as a consultant uses them: Playwright on Debian chromium.

`onetoone lab CONFIG`'s server (a per-client working copy of the notebooks) on loopback; 02
runs in it; the fence slider is moved to three positions and each readout is checked against
the library's figure for the customer count shown; then one configurator look-up and save.
Screenshots go to tmp_path (or $ONETOONE_SCREENSHOTS when set).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sample_support import sample_config_file

from onetoone.config import load_config
from onetoone.customize import pipeline as customize_pipeline
from onetoone.customize.configurator import configuration_history
from onetoone.differentiate import pipeline
from onetoone.labserver import lab_server, write_notebook
from onetoone.ui import theme
from onetoone.workspace import Workspace

NOTEBOOK_TIMEOUT = 600_000  # 02 under a loaded machine
TIMEOUT = 60_000

CONFIGURATOR_CELLS = [
    ("from onetoone import nb\n"
    "from onetoone.customize import pipeline\n"
    "from onetoone.ui.configurator import ConfiguratorWidget"),
    ("session = nb.start()\n"
    "profile = pipeline.load_profile(session.ws, session.cfg)\n"
    "conf, why = pipeline.configurator_for_client(session.ws)\n"
    "session.close()"),
    "ConfiguratorWidget(conf, session.cfg, profile)",
]


def _run_all(page) -> None:
    expect(page.locator(".jp-Notebook")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text("(Python 3.11) | Idle")).to_be_visible(timeout=TIMEOUT)
    page.wait_for_timeout(1000)
    first_prompt = page.locator(".jp-Notebook .jp-CodeCell .jp-InputPrompt").first
    for attempt in range(3):
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
        try:  # a click before the kernel has connected runs nothing: the prompt stays "[ ]:"
            expect(first_prompt).not_to_have_text(re.compile(r"^\s*\[\s*\]:?\s*$"),
                                                  timeout=30_000)
            return
        except AssertionError:
            if attempt == 2:
                raise


def _wait_idle(page) -> None:
    page.wait_for_timeout(1500)
    expect(page.get_by_text("(Python 3.11) | Idle")).to_be_visible(timeout=NOTEBOOK_TIMEOUT)


def _shots(tmp_path: Path) -> Path:
    d = Path(os.environ.get("ONETOONE_SCREENSHOTS") or tmp_path)
    d.mkdir(parents=True, exist_ok=True)
    return d


def test_lab_serves_a_working_copy_and_runs_as_root(tmp_path, monkeypatch):
    from onetoone import paths
    from onetoone.cli import prepare_lab

    config = tmp_path / "acme" / "client.yaml"
    config.parent.mkdir()
    config.write_text("client: Acme\nas_of: 2026-06-30\ncurrency: EUR\nsources: []\n",
                      encoding="utf-8")
    monkeypatch.setattr("os.geteuid", lambda: 0)
    cmd, env, folder = prepare_lab(str(config), port=9999, no_browser=True)
    assert "--allow-root" in cmd and "--no-browser" in cmd
    assert folder == tmp_path / "acme" / "client.notebooks"  # beside the workspace
    assert f"--notebook-dir={folder}" in cmd and env["ONETOONE_CONFIG"] == str(config)
    tracked = sorted(p.name for p in paths.NOTEBOOKS.glob("*.ipynb"))
    assert sorted(p.name for p in folder.glob("*.ipynb")) == tracked
    (folder / "02_differentiate.ipynb").write_text("{}", encoding="utf-8")  # the user's edits
    prepare_lab(str(config))
    assert (folder / "02_differentiate.ipynb").read_text(encoding="utf-8") == "{}"  # kept
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert "--allow-root" not in prepare_lab(str(config))[0]


@pytest.mark.browser
@pytest.mark.slow
def test_fence_slider_and_configurator_in_jupyterlab(page, tmp_path):
    config = sample_config_file("identify", tmp_path)
    cfg = load_config(config)
    shots = _shots(tmp_path)
    page.set_viewport_size({"width": 1400, "height": 1100})
    page.set_default_timeout(TIMEOUT)
    with lab_server(config) as lab:
        assert lab.folder != Path(__file__).parents[1] / "notebooks"  # never the tracked files
        page.goto(lab.url("02_differentiate.ipynb"), wait_until="domcontentloaded")
        _run_all(page)
        fence_box = page.locator(".onetoone-fence")
        expect(fence_box.locator(".fence-readout")).to_contain_text("Customers inside",
                                                                    timeout=NOTEBOOK_TIMEOUT)
        _wait_idle(page)  # every cell ran: customer_value written, session closed
        with Workspace(cfg.workspace_path, read_only=True) as ws:
            cv = ws.read("customer_value")
            assigned = len(ws.read("fence_assignment"))
        fence = pipeline.fence_for(cfg, cv)
        best = fence.break_even().best

        def shown() -> tuple[int, str]:
            k = int(fence_box.locator(".fence-k").text_content().replace(",", ""))
            return k, fence_box.locator(".fence-net").text_content()

        fence_box.scroll_into_view_if_needed()
        # the chart is drawn (benefit, cost and net benefit curves) before anything is read
        expect(fence_box.locator(".js-plotly-plot .scatterlayer .trace")).to_have_count(
            4, timeout=TIMEOUT)
        k, net = shown()  # it opens at the report's best fence
        assert k == best.customers == assigned
        assert net == theme.money(best.net_benefit, cfg.currency)
        expect(fence_box.locator(".fence-readout")).to_contain_text(fence.value_label)
        fence_box.screenshot(path=str(shots / "fence_widget.png"))

        track = fence_box.locator(".fence-position .noUi-base")
        box = track.bounding_box()
        seen = set()
        for frac in (0.15, 0.5, 0.85):
            page.mouse.click(box["x"] + frac * box["width"], box["y"] + box["height"] / 2)
            label = fence_box.locator(".fence-position .widget-readout")
            page.wait_for_timeout(300)
            want = label.text_content().strip()
            expect(fence_box.locator(".fence-k")).to_have_text(want, timeout=TIMEOUT)
            k, net = shown()
            pos = fence.at_rank(k)
            assert net == theme.money(pos.net_benefit, cfg.currency), (k, net)
            expect(fence_box.locator(".fence-readout")).to_contain_text(
                f"{pos.managers:,} ({cfg.fence.portfolio_size:,} customers each)")
            seen.add(k)
        assert len(seen) == 3 and best.customers not in seen

        # one configurator look-up and save, on the same client
        write_notebook(lab.folder / "configurator_check.ipynb", CONFIGURATOR_CELLS)
        # reset: open this notebook alone (JupyterLab would restore 02's tab, whose idle kernel
        # the status bar shows before this notebook's kernel has connected)
        page.goto(lab.url("configurator_check.ipynb") + "&reset", wait_until="domcontentloaded")
        _run_all(page)
        conf_box = page.locator(".onetoone-configurator")
        expect(conf_box).to_be_visible(timeout=NOTEBOOK_TIMEOUT)
        _wait_idle(page)
        with Workspace(cfg.workspace_path, read_only=True) as ws:
            conf, _ = customize_pipeline.configurator_for_client(ws)
            before = len(configuration_history(ws))
        cid = str(cv.sort_values("clv", ascending=False)["customer_id"].iloc[0])
        conf_box.locator(".configurator-customer input").fill(cid)
        conf_box.get_by_role("button", name="Look up").click()
        expect(conf_box.locator(".configurator-status")).to_contain_text("Proposed",
                                                                         timeout=TIMEOUT)
        picked = page.evaluate("""() => [...document.querySelectorAll(
            '.onetoone-configurator .widget-dropdown')].map(d => [
            d.querySelector('label') ? d.querySelector('label').textContent : '',
            d.querySelector('select').selectedIndex,
            d.querySelector('select').selectedOptions[0].textContent])""")
        # the dropdowns list products and options in the library's order: map by position
        product = conf.configurable_products()[picked[0][1]]
        product_name = picked[0][2]
        assert product_name == conf.name(product)
        options = {m: str(g["option_id"].iloc[i]) for (m, i, _), (_, g) in
                   zip(picked[1:], conf.modules(product).items(), strict=True)}
        assert [m for m, _, _ in picked[1:]] == list(conf.modules(product))
        assert set(options) == set(conf.modules(product))
        price = conf.price(product, options).price
        # product, options and price agree: the price shown is the library's for what is shown
        expect(conf_box.locator(".configurator-product-name")).to_have_text(product_name)
        expect(conf_box.locator(".configurator-amount")).to_have_text(
            theme.number(price, decimals=2))
        conf_box.screenshot(path=str(shots / "configurator_widget.png"))
        conf_box.get_by_role("button", name="Save configuration").click()
        expect(conf_box.locator(".configurator-status")).to_contain_text(f"for {cid}",
                                                                         timeout=TIMEOUT)
        with Workspace(cfg.workspace_path, read_only=True) as ws:
            hist = configuration_history(ws)
        assert len(hist) == before + 1
        last = hist.iloc[-1]
        assert str(last["customer_id"]) == cid and last["product_id"] == product
        assert float(last["price"]) == pytest.approx(price)
