"""Batch runs: every client through every notebook, HTML reports that open offline.

For each client config: ingest, run notebooks 01-04 and the readiness results with papermill
(``CONFIG`` injected, the ``onetoone`` kernel, the notebooks folder as working directory) in
report mode: tables formatted and contact data masked in the kernel, widgets shown as their
static state, figures drawn by the folder's one copy of plotly.js. Then each executed notebook
becomes a report page (:mod:`onetoone.report`), the index says what each stage found in plain
words with its headline numbers, and, with ``pdf=True``, index and reports are printed to one
PDF board pack (:mod:`onetoone.report.pdf`). ``run.json`` records status, timings and errors
per client and step.

Executed notebooks go to ``OUT/_executed/<client>/`` (beside the client's folder, which is what
goes to the client). A client whose data or notebook fails does not stop the others: its
executed notebook is kept as
the log, the summary names the client, the notebook and the error, and the batch's exit status is
non-zero. Re-running a client replaces its reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import html
import json
import os
import platform
import queue
import re
import shutil
import subprocess
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from pathlib import Path

from . import __version__, paths
from . import columns as C

RENDERER_ENV = "ONETOONE_PLOTLY_RENDERER"


# -- provenance --------------------------------------------------------------------------------
def _sha256(path: Path, limit: int = 512 * 2**20) -> str:
    if path.stat().st_size > limit:
        return f"not hashed (> {limit // 2**20} MB; mtime {dt.datetime.fromtimestamp(path.stat().st_mtime):%Y-%m-%d %H:%M})"
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(2**20), b""):
            h.update(chunk)
    return h.hexdigest()


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(paths.ROOT), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=5, check=False)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(cfg) -> dict:
    """Which config, data files and code produced a report."""
    from .ingest import source_files

    files = []
    for s in cfg.sources:
        try:
            for f in source_files(cfg, s):
                files.append({"source": s.name, "file": str(f), "bytes": f.stat().st_size,
                              "sha256": _sha256(f)})
        except Exception as exc:  # noqa: BLE001  (a missing file is reported, not fatal here)
            files.append({"source": s.name, "file": s.path, "error": str(exc)})
    return {"client": cfg.client, "as_of": str(cfg.as_of), "config": str(cfg.config_path),
            "config_sha256": _sha256(cfg.config_path) if cfg.config_path else None,
            "files": files, "onetoone": __version__, "git_commit": _git_commit(),
            "python": platform.python_version(),
            "generated_at": dt.datetime.now().replace(microsecond=0).isoformat()}


def _clean_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
    return f"{name}: {exc}"


@contextlib.contextmanager
def _env(values: dict[str, str]):
    """Set environment variables for the kernels started inside; restore them after."""
    before = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


REPORT_ENV = {RENDERER_ENV: "onetoone_report", "ONETOONE_STATIC_WIDGETS": "1",
              "ONETOONE_MASK_CONTACT_DATA": "1", "TQDM_DISABLE": "1"}
"""What a report run's kernels see: plotly divs without plotly.js (the page loads the folder's
copy), widgets as their static state, contact data masked in every table, no progress bars."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "client"


def run_client(config_path: Path, out_dir: Path, notebooks: list[str] | None = None,
               progress: queue.Queue | None = None, pdf: bool = False) -> dict:
    """Ingest one client, run its notebooks, write its reports (and with ``pdf`` its board
    pack); never raises (failures are in the result)."""
    import papermill as pm

    from .config import load_config
    from .ingest import ingest
    from .nb import figures_from_notebook
    from .workspace import Workspace

    t0 = time.perf_counter()
    config_path = Path(config_path).resolve()
    result: dict = {"config": str(config_path), "client": config_path.stem, "status": "ok",
                    "steps": []}
    names = notebooks or [n for n in paths.REPORT_NOTEBOOKS if (paths.NOTEBOOKS / n).exists()]

    def tick(msg: str) -> None:
        if progress is not None:
            progress.put(msg)

    def step(name: str, fn):
        s0 = time.perf_counter()
        rec = {"name": name, "status": "ok"}
        try:
            rec.update(fn() or {})
        except Exception as exc:  # noqa: BLE001  (isolate: record and go on)
            rec.update(status="failed", error=_clean_error(exc),
                       traceback=traceback.format_exc(limit=8))
            result["status"] = "failed"
        rec["seconds"] = round(time.perf_counter() - s0, 2)
        result["steps"].append(rec)
        tick(f"{result['client']}: {name} {rec['status']}")
        return rec

    try:
        cfg = load_config(config_path)
    except Exception as exc:  # noqa: BLE001  (any config problem fails this client only)
        result.update(status="failed", seconds=round(time.perf_counter() - t0, 2))
        result["steps"].append({"name": "config", "status": "failed", "error": _clean_error(exc)})
        for _ in range(len(names) + 3):
            tick(f"{config_path.stem}: config failed")
        return result
    client_dir = out_dir / _slug(cfg.client)
    # the executed notebooks (the run's log, read back by tests) sit beside the client's
    # folder, not in it: the folder is what goes to the client
    executed_dir = out_dir / "_executed" / _slug(cfg.client)
    result.update(client=cfg.client, dir=str(client_dir), executed_dir=str(executed_dir))
    for d in (client_dir, executed_dir):
        if d.exists():
            shutil.rmtree(d)  # re-running a client replaces its reports
    client_dir.mkdir(parents=True)
    executed_dir.mkdir(parents=True)

    def do_ingest():
        with Workspace.open(cfg) as ws:
            res = ingest(cfg, ws, echo=False)
        return {"loaded": sum(r.loaded for r in res), "quarantined": sum(r.quarantined for r in res),
                "sources": {r.source: {"read": r.read, "loaded": r.loaded,
                                       "quarantined": r.quarantined, "reasons": r.reasons}
                            for r in res}}

    ing = step("ingest", do_ingest)
    if ing["status"] != "ok":
        for _ in range(len(names) + 2 + int(pdf)):  # the notebooks, html, scorecard (pdf) it skips
            tick(f"{cfg.client}: skipped")
        result["seconds"] = round(time.perf_counter() - t0, 2)
        _write_client_index(cfg, client_dir, result, None)
        return result

    reports = []
    with _env(REPORT_ENV):  # kernels inherit it
        for name in names:
            executed = executed_dir / name

            def do_nb(name=name, executed=executed):
                pm.execute_notebook(str(paths.NOTEBOOKS / name), str(executed),
                                    parameters={"CONFIG": str(config_path)},
                                    kernel_name="onetoone", cwd=str(paths.NOTEBOOKS),
                                    progress_bar=False, log_output=False)
                return {"figures": figures_from_notebook(executed)}

            rec = step(name, do_nb)
            rec["executed"] = str(executed)
            reports.append(rec)

    def do_html():
        from .report import TITLES, notebook_to_html, write_plotly_js

        write_plotly_js(client_dir)
        done = [r for r in reports if Path(r["executed"]).exists()]
        pages = [(TITLES.get(Path(r["executed"]).stem, Path(r["executed"]).stem),
                  Path(r["executed"]).stem + ".html") for r in done]
        for rec, (title, html_name) in zip(done, pages):
            notebook_to_html(Path(rec["executed"]), client_dir / html_name, client=cfg.client,
                             title=title, reports=pages)
            rec["html"] = html_name
        return {}

    step("html", do_html)
    scorecard = None

    def do_scorecard():
        nonlocal scorecard
        scorecard = _scorecard_section(cfg, client_dir)
        return {}

    step("scorecard", do_scorecard)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    _write_client_index(cfg, client_dir, result, scorecard)
    if pdf:
        def do_pdf():
            from .report.pdf import board_pack

            return board_pack(client_dir, client=cfg.client)

        step("pdf", do_pdf)
        result["seconds"] = round(time.perf_counter() - t0, 2)
        _write_client_index(cfg, client_dir, result, scorecard)
    return result


# -- index pages -------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2933;padding:0 1rem;line-height:1.45}
table{border-collapse:collapse;margin:.6rem 0 1.4rem;font-size:.92rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.35rem .7rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums} th{background:#f5f7fa}
.ok{color:#1f7a4d;font-weight:600} .failed{color:#b42318;font-weight:600}
"""

_MEASURE_LABELS = {
    "active_customers": "active customers (bought in the period)",
    "revenue_per_customer": "revenue per active customer",
    "categories_per_customer": "categories bought per active customer",
    "cost_to_serve_per_customer": "cost to serve per active customer",
    "satisfaction": "satisfaction (mean of 1-5 ratings)",
    "retention": "retention (bought again after buying the period before)",
    "attrition": "attrition",
    C.SHARE_OF_WALLET: "share of wallet (today)",
}


def _fmt_measure(measure: str, v: float, currency: str, n=None) -> str:
    from .ui import format as F

    if F.is_missing(v):
        return F.MISSING
    if measure == "active_customers":
        return F.number(v, 0)
    if measure in ("retention", "attrition", C.SHARE_OF_WALLET):
        return F.percent(v)
    if measure in ("revenue_per_customer", "cost_to_serve_per_customer"):
        return F.money(v, currency, decimals=2)
    if measure == "satisfaction":
        return F.mean_with_n(v, n)
    return F.number(v, 2)


def _scorecard_section(cfg, client_dir: Path) -> dict:
    """The scorecard (and pilot comparison) for the index: sentence, table, chart, pilot."""
    import pandas as pd
    import plotly.graph_objects as go

    from .measures import INSIDE, REST, pilot_vs_control, scorecard, scorecard_table
    from .report import environment
    from .ui import format as F
    from .ui.static import figure_html
    from .workspace import Workspace

    with Workspace.open(cfg, read_only=True) as ws:
        card, notes = scorecard(cfg, ws)
        pilot = pilot_vs_control(cfg, ws) if cfg.pilot else None
    card.to_csv(client_dir / "scorecard.csv", index=False)
    counts = card[card["measure"] == "satisfaction_responses"].set_index(["period_label", "group"])["value"]
    table = scorecard_table(card[card["measure"] != "satisfaction_responses"])
    rows = []
    for (measure, group), r in table.iterrows():
        cells = [_fmt_measure(measure, float(x), cfg.currency, counts.get((period, group)))
                 for period, x in r.items()]
        rows.append([_MEASURE_LABELS.get(measure, F.label(measure)), group, *cells])
    shown = pd.DataFrame(rows, columns=["measure", "group", *[str(c) for c in table.columns]])
    inside = notes["customers_inside"]
    who = (f"{F.number(inside)} customers inside the picket fence against the rest"
           if inside else "no customer is inside the picket fence, so all customers are one group")
    sentence = (f"Per {notes['period']}-period window ending {F.date(cfg.as_of)}: {who} "
                f"({notes['fence_source']}). A mean of fewer than {F.SMALL_N} ratings shows "
                "its count (n).")
    out = {"sentence": sentence, "table": F.table_html(shown, mask=False, max_rows=200),
           "chart": "", "pilot": ""}
    rev = card[(card["measure"] == "revenue_per_customer") & card["group"].isin([INSIDE, REST])]
    if len(rev):
        from .ui.theme import TEMPLATE as template

        fig = go.Figure()
        for group, g in rev.sort_values("period", ascending=False).groupby("group", sort=False):
            fig.add_bar(x=g["period_label"], y=g["value"], name=group)
        fig.update_layout(template=template, barmode="group", height=360,
                          title="Revenue per active customer: inside the fence against the rest",
                          yaxis_title=f"revenue per customer ({cfg.currency})",
                          xaxis_title="period")
        out["chart"] = figure_html(fig)
    if pilot is not None:
        res, pn = pilot
        res.to_csv(client_dir / "pilot_vs_control.csv", index=False)
        shown = pd.DataFrame({
            "measure": res["measure"],
            "pilot": [F.money(v, cfg.currency, 2) if C.REVENUE in m else F.number(v, 2)
                      for m, v in zip(res["measure"], res["pilot"])],
            "control": [F.money(v, cfg.currency, 2) if C.REVENUE in m else F.number(v, 2)
                        for m, v in zip(res["measure"], res["control"])],
            "difference": [F.number(v, 2) for v in res["difference"]],
            "95 % interval": [f"{F.number(lo, 2)} to {F.number(hi, 2)}"
                              for lo, hi in zip(res["ci_low"], res["ci_high"])],
            "clear difference": ["yes" if x else "no" for x in res["significant"]]})
        out["pilot"] = environment().from_string(
            "<h3>Pilot '{{ p.pilot }}' against a matched control</h3><p>{{ pairs }} matched pairs "
            "since {{ p.start }} (control matched on tier and the 12 months' revenue before the "
            "start); 95 % bootstrap intervals from {{ boot }} resamples.</p>{{ table | safe }}"
        ).render(p=pn, pairs=F.number(pn["matched_pairs"]), boot=F.number(pn["n_boot"]),
                 table=F.table_html(shown, mask=False))
    return out


def _write_client_index(cfg, client_dir: Path, result: dict, scorecard: dict | None) -> None:
    from .report import TITLES, stage_summaries, write_index

    prov = provenance(cfg)
    result["provenance"] = prov
    reports = [("Summary", "index.html")] + [
        (TITLES.get(Path(r["html"]).stem, Path(r["html"]).stem), r["html"])
        for r in result["steps"] if r.get("html")]
    write_index(client_dir / "index.html", cfg=cfg, result=result,
                summaries=stage_summaries(result["steps"], cfg.currency), scorecard=scorecard,
                provenance=prov, reports=reports)
    result["index"] = str(client_dir / "index.html")
    (client_dir / "run.json").write_text(json.dumps(result, indent=2, default=str), encoding="utf-8")


def _write_batch_index(out_dir: Path, summary: dict) -> None:
    rows = ""
    for c in summary["clients"]:
        name = html.escape(c["client"])
        link = (f"<a href='{html.escape(os.path.relpath(c['index'], out_dir))}'>{name}</a>"
                if c.get("index") else name)
        failed = [f"{s['name']}: {s.get('error', '')}" for s in c["steps"] if s["status"] != "ok"]
        rows += (f"<tr><td>{link}</td><td class='{c['status']}'>{c['status']}</td>"
                 f"<td class='num'>{c.get('seconds', 0)}</td>"
                 f"<td>{html.escape('; '.join(failed))}</td></tr>")
    (out_dir / "index.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>onetoone batch</title>"
        f"<style>{_CSS}</style></head><body><h1>Batch run</h1><p class='sub'>{summary['started']}, "
        f"{summary['seconds']} s, {len(summary['clients'])} client(s)</p><table><tr><th>client</th>"
        f"<th>status</th><th>seconds</th><th>failures</th></tr>{rows}</table></body></html>",
        encoding="utf-8")


def run_batch(configs: list[Path], out_dir: Path = Path("reports"), jobs: int = 1,
              notebooks: list[str] | None = None, progress: bool = True,
              pdf: bool = False) -> dict:
    """Run every client (up to ``jobs`` in parallel); write run.json and an index; print a summary.

    With ``pdf`` each client's index and reports are also printed to ``board_pack.pdf``.

    Returns the summary dict (``ok`` is False when any client failed).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().replace(microsecond=0)
    t0 = time.perf_counter()
    n_nb = len(notebooks or [n for n in paths.REPORT_NOTEBOOKS if (paths.NOTEBOOKS / n).exists()])
    total = len(configs) * (n_nb + 3 + int(pdf))  # ingest + notebooks + html + scorecard (+ pdf)
    bar = tqdm(total=total, desc="batch", unit="step", disable=not progress)
    results: list[dict] = []
    if jobs <= 1 or len(configs) == 1:
        class _Bar:
            def put(self, msg):
                bar.set_postfix_str(msg[-60:])
                bar.update(1)
        for c in configs:
            results.append(run_client(Path(c), out_dir, notebooks, _Bar(), pdf))
    else:
        ctx = get_context("spawn")
        with ctx.Manager() as mgr:
            q = mgr.Queue()
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futs = [pool.submit(run_client, Path(c), out_dir, notebooks, q, pdf) for c in configs]
                pending = set(futs)
                while pending:
                    try:
                        msg = q.get(timeout=0.5)
                        bar.set_postfix_str(msg[-60:])
                        bar.update(1)
                    except queue.Empty:
                        pass
                    pending = {f for f in pending if not f.done()}
                while not q.empty():
                    q.get()
                    bar.update(1)
                for f in as_completed(futs):
                    try:
                        results.append(f.result())
                    except Exception as exc:  # noqa: BLE001  (a worker that died outright)
                        results.append({"client": "?", "status": "failed", "steps": [
                            {"name": "worker", "status": "failed", "error": _clean_error(exc)}]})
            order = {str(Path(c).resolve()): i for i, c in enumerate(configs)}
            results.sort(key=lambda r: order.get(r.get("config", ""), 1e9))
    bar.close()
    summary = {"started": started.isoformat(), "seconds": round(time.perf_counter() - t0, 2),
               "ok": all(r["status"] == "ok" for r in results), "jobs": jobs, "clients": results}
    (out_dir / "run.json").write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    _write_batch_index(out_dir, summary)
    for r in results:
        line = f"{r['status']:>6}  {r['client']}  ({r.get('seconds', 0)} s)"
        if r.get("index"):
            line += f"  {r['index']}"
        print(line)
        for s in r["steps"]:
            if s["status"] != "ok":
                print(f"        {s['name']}: {s.get('error', '')}")
    print(f"run.json: {out_dir / 'run.json'}")
    return summary
