"""Batch runs: every client through every notebook, HTML reports that open offline.

For each client config: ingest, run notebooks 01-04 and the readiness results with papermill
(``CONFIG`` injected, the ``onetoone`` kernel, the notebooks folder as working directory), turn
each executed notebook into HTML with the code hidden and plotly.js embedded, mask personal data
(email addresses, phone numbers, street addresses), and write an index page that opens with the
short-term measures scorecard, links the reports with their headline figures and says which data
and config produced them. ``run.json`` records status, timings and errors per client and step.

A client whose data or notebook fails does not stop the others: its executed notebook is kept as
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

RENDERER_ENV = "ONETOONE_PLOTLY_RENDERER"


# -- personal data in reports ------------------------------------------------------------------
_EMAIL = re.compile(r"(?<![\w.+-])([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*"
                    r"\.([A-Za-z]{2,})(?![\w-])")
_PHONE_CANDIDATE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s\-().]{7,}\d(?![\w.])")
_STREET_WORDS = (r"Street|St|Road|Rd|Lane|Ln|Avenue|Ave|Close|Way|Drive|Dr|Gardens|Place|Pl|"
                 r"Crescent|Terrace|Grove|Hill|Court|Ct|Row|Square|Sq|Walk|Park|Mews|Rise|View|Green")
_STREET_NAME = re.compile(r"\b(?:[A-Z][A-Za-z'\-]+\s+){1,3}(?:" + _STREET_WORDS + r")\b")
_STREET = re.compile(r"\b(\d{1,4}[A-Za-z]?),?\s+((?:[A-Z][A-Za-z'\-]+\s+){0,3})(" + _STREET_WORDS
                     + r")\b")


class PiiMasker:
    """Masks email addresses, the client's phone numbers and street addresses in report text.

    Emails and street-style addresses are masked wherever they appear. Phone numbers are masked
    when their digits match a phone the client holds (so chart data, ids and money amounts, which
    also look like long digit runs, are left alone).
    """

    def __init__(self, phones: set[str] | None = None, streets: set[str] | None = None):
        self.phones = {p[-9:] for p in (phones or set()) if len(p) >= 9}
        # street names without the house number: "12a Harbour Lane" -> "harbour lane"
        self.streets = {re.sub(r"^\d+[A-Za-z]?,?\s+", "", s.strip()).lower()
                        for s in (streets or set()) if s and len(s.strip()) > 4}

    @classmethod
    def from_workspace(cls, ws) -> "PiiMasker":
        phones: set[str] = set()
        streets: set[str] = set()
        for table in ("customer_records", "customers"):
            if not ws.has(table):
                continue
            cols = set(ws.table(table).columns)
            if "phone" in cols:
                for p in ws.sql(f'SELECT DISTINCT phone FROM "{table}" WHERE phone IS NOT NULL')["phone"]:
                    digits = re.sub(r"\D", "", str(p))
                    phones.add(digits)
            if "street" in cols:
                streets |= set(ws.sql(f'SELECT DISTINCT street FROM "{table}" '
                                      "WHERE street IS NOT NULL")["street"].astype(str))
        return cls(phones, streets)

    def _phone(self, m: re.Match) -> str:
        digits = re.sub(r"\D", "", m.group(0))
        if len(digits) >= 9 and digits[-9:] in self.phones:
            return "\u2022" * max(len(m.group(0)) - 3, 3) + digits[-3:]
        return m.group(0)

    def __call__(self, text: str) -> str:
        text = _EMAIL.sub(lambda m: f"{m.group(1)}\u2022\u2022\u2022@{m.group(2)}\u2022\u2022\u2022."
                                    f"{m.group(3)}", text)
        if self.phones:
            text = _PHONE_CANDIDATE.sub(self._phone, text)
        text = _STREET.sub(lambda m: f"\u2022\u2022 {m.group(3)}", text)
        if self.streets:  # a client street named without its house number
            text = _STREET_NAME.sub(self._street_name, text)
        return text

    def _street_name(self, m: re.Match) -> str:
        return "\u2022\u2022\u2022" if m.group(0).strip().lower() in self.streets else m.group(0)


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
                             capture_output=True, text=True, timeout=5)
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
        except Exception as exc:  # a missing file is reported, not fatal here
            files.append({"source": s.name, "file": s.path, "error": str(exc)})
    return {"client": cfg.client, "as_of": str(cfg.as_of), "config": str(cfg.config_path),
            "config_sha256": _sha256(cfg.config_path) if cfg.config_path else None,
            "files": files, "onetoone": __version__, "git_commit": _git_commit(),
            "python": platform.python_version(),
            "generated_at": dt.datetime.now().replace(microsecond=0).isoformat()}


# -- notebooks -> HTML -------------------------------------------------------------------------
def notebook_to_html(nb_path: Path, html_path: Path, masker: PiiMasker, title: str) -> None:
    """HTML with the code hidden, plotly embedded (offline), widget state dropped, PII masked."""
    import nbformat
    from nbconvert import HTMLExporter

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata.pop("widgets", None)
    nb.metadata["title"] = title
    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                            exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(nb)
    html_path.write_text(masker(body), encoding="utf-8")


def _clean_error(exc: BaseException) -> str:
    name = type(exc).__name__
    if name == "PapermillExecutionError":
        return f"{exc.ename}: {exc.evalue} (cell {exc.exec_count})"
    return f"{name}: {exc}"


@contextlib.contextmanager
def _env(key: str, value: str):
    """Set an environment variable for the kernels started inside; restore it after."""
    before = os.environ.get(key)
    os.environ[key] = value
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = before


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "client"


def run_client(config_path: Path, out_dir: Path, notebooks: list[str] | None = None,
               progress: "queue.Queue | None" = None) -> dict:
    """Ingest one client and run its notebooks; never raises (failures are in the result)."""
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
        except Exception as exc:  # isolate: record and go on
            rec.update(status="failed", error=_clean_error(exc),
                       traceback=traceback.format_exc(limit=8))
            result["status"] = "failed"
        rec["seconds"] = round(time.perf_counter() - s0, 2)
        result["steps"].append(rec)
        tick(f"{result['client']}: {name} {rec['status']}")
        return rec

    try:
        cfg = load_config(config_path)
    except Exception as exc:
        result.update(status="failed", seconds=round(time.perf_counter() - t0, 2))
        result["steps"].append({"name": "config", "status": "failed", "error": _clean_error(exc)})
        for _ in range(len(names) + 3):
            tick(f"{config_path.stem}: config failed")
        return result
    client_dir = out_dir / _slug(cfg.client)
    result.update(client=cfg.client, dir=str(client_dir))
    if client_dir.exists():
        shutil.rmtree(client_dir)  # re-running a client replaces its reports
    (client_dir / "executed").mkdir(parents=True)

    def do_ingest():
        with Workspace.open(cfg) as ws:
            res = ingest(cfg, ws, echo=False)
        return {"loaded": sum(r.loaded for r in res), "quarantined": sum(r.quarantined for r in res),
                "sources": {r.source: {"read": r.read, "loaded": r.loaded,
                                       "quarantined": r.quarantined, "reasons": r.reasons}
                            for r in res}}

    ing = step("ingest", do_ingest)
    if ing["status"] != "ok":
        for _ in range(len(names) + 2):  # the notebooks, html and scorecard steps it skips
            tick(f"{cfg.client}: skipped")
        result["seconds"] = round(time.perf_counter() - t0, 2)
        _write_client_index(cfg, client_dir, result, None)
        return result

    reports = []
    with _env(RENDERER_ENV, "notebook"):  # kernels inherit it: plotly.js goes into the HTML
        for name in names:
            executed = client_dir / "executed" / name

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
        with Workspace.open(cfg, read_only=True) as ws:
            masker = PiiMasker.from_workspace(ws)
        for rec in reports:
            executed = Path(rec["executed"])
            if executed.exists():
                html_name = executed.stem + ".html"
                notebook_to_html(executed, client_dir / html_name, masker,
                                 f"{cfg.client}: {executed.stem}")
                rec["html"] = html_name
        return {}

    step("html", do_html)
    scorecard_html = None

    def do_scorecard():
        nonlocal scorecard_html
        scorecard_html = _scorecard_section(cfg, client_dir)
        return {}

    step("scorecard", do_scorecard)
    result["seconds"] = round(time.perf_counter() - t0, 2)
    _write_client_index(cfg, client_dir, result, scorecard_html)
    return result


# -- index pages -------------------------------------------------------------------------------
_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#1f2933;padding:0 1rem;line-height:1.45}
h1{margin-bottom:.2rem} .sub{color:#52606d;margin-top:0}
table{border-collapse:collapse;margin:.6rem 0 1.4rem;font-size:.92rem}
th,td{border-bottom:1px solid #e4e7eb;padding:.35rem .7rem;text-align:left;vertical-align:top}
td.num{text-align:right;font-variant-numeric:tabular-nums} th{background:#f5f7fa}
.ok{color:#1f7a4d;font-weight:600} .failed{color:#b42318;font-weight:600}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:.8rem 1rem;margin:.8rem 0}
.err{background:#fef3f2;border:1px solid #fecdca;padding:.6rem;border-radius:6px;white-space:pre-wrap;
font-family:ui-monospace,monospace;font-size:.85rem}
small{color:#52606d}
"""


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != v:
            return "n/a"
        return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.0f}"
    return html.escape(str(v))


def _fmt_measure(measure: str, v: float, currency: str) -> str:
    if v != v:
        return "n/a"
    if measure == "active_customers":
        return f"{v:,.0f}"
    if measure in ("retention", "attrition", "share_of_wallet"):
        return f"{v:.1%}"
    if measure in ("revenue_per_customer", "cost_to_serve_per_customer"):
        return f"{currency} {v:,.2f}"
    return f"{v:,.2f}"


def _scorecard_section(cfg, client_dir: Path) -> str:
    """The scorecard (and pilot comparison) as HTML with one offline plotly chart."""
    import plotly.graph_objects as go

    from .measures import INSIDE, REST, pilot_vs_control, scorecard, scorecard_table
    from .workspace import Workspace

    with Workspace.open(cfg, read_only=True) as ws:
        card, notes = scorecard(cfg, ws)
        pilot = pilot_vs_control(cfg, ws) if cfg.pilot else None
    card.to_csv(client_dir / "scorecard.csv", index=False)
    table = scorecard_table(card)
    parts = [f"<h2>Short-term measures</h2><p class='sub'>Per {notes['period']}-period window "
             f"ending {cfg.as_of}; customers inside the fence: {notes['customers_inside']:,} "
             f"(from {html.escape(notes['fence_source'])}).</p>"]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    rows = []
    for (measure, group), r in table.iterrows():
        cells = "".join(f"<td class='num'>{_fmt_measure(measure, float(x), cfg.currency)}</td>"
                        for x in r.to_numpy())
        rows.append(f"<tr><td>{measure.replace('_', ' ')}</td><td>{group}</td>{cells}</tr>")
    parts.append(f"<table><tr><th>measure</th><th>group</th>{head}</tr>{''.join(rows)}</table>")
    try:
        from .ui.theme import TEMPLATE as template  # the house look, when present
    except Exception:
        template = "plotly_white"
    rev = card[(card["measure"] == "revenue_per_customer") & card["group"].isin([INSIDE, REST])]
    fig = go.Figure()
    for group, g in rev.sort_values("period", ascending=False).groupby("group", sort=False):
        fig.add_bar(x=g["period_label"], y=g["value"], name=group)
    fig.update_layout(template=template, barmode="group", height=380,
                      title="Revenue per active customer: inside the fence against the rest",
                      yaxis_title=f"revenue per customer ({cfg.currency})", xaxis_title="period")
    parts.append(fig.to_html(full_html=False, include_plotlyjs=True, default_height=380))
    if pilot is not None:
        res, pn = pilot
        res.to_csv(client_dir / "pilot_vs_control.csv", index=False)
        prow = "".join(
            f"<tr><td>{html.escape(r.measure)}</td><td class='num'>{_fmt(r.pilot)}</td>"
            f"<td class='num'>{_fmt(r.control)}</td><td class='num'>{_fmt(r.difference)}</td>"
            f"<td class='num'>{_fmt(r.ci_low)} to {_fmt(r.ci_high)}</td>"
            f"<td>{'yes' if r.significant else 'no'}</td></tr>" for r in res.itertuples())
        parts.append(
            f"<h3>Pilot '{html.escape(pn['pilot'])}' against a matched control</h3>"
            f"<p class='sub'>{pn['matched_pairs']:,} matched pairs since {pn['start']} "
            f"(control matched on tier and the 12 months' revenue before the start); 95 % "
            f"bootstrap intervals from {pn['n_boot']:,} resamples.</p><table><tr><th>measure</th>"
            f"<th>pilot</th><th>control</th><th>difference</th><th>95 % interval</th>"
            f"<th>clear difference</th></tr>{prow}</table>")
    return "\n".join(parts)


def _write_client_index(cfg, client_dir: Path, result: dict, scorecard_html: str | None) -> None:
    prov = provenance(cfg)
    result["provenance"] = prov
    cards = []
    for rec in result["steps"]:
        status = f"<span class='{rec['status']}'>{rec['status']}</span>"
        link = (f"<a href='{html.escape(rec['html'])}'>{html.escape(rec['name'])}</a>"
                if rec.get("html") else html.escape(rec["name"]))
        figs = "".join(f"<tr><td>{html.escape(k)}</td><td class='num'>{_fmt(v)}</td></tr>"
                       for stage in rec.get("figures", {}).values()
                       for k, v in list(stage.items())[:12])
        err = (f"<div class='err'>{html.escape(rec['error'])}</div>"
               + (f"<small>log: executed/{html.escape(Path(rec['executed']).name)}</small>"
                  if rec.get("executed") else "") if rec.get("error") else "")
        cards.append(f"<div class='card'><b>{link}</b> {status} <small>{rec.get('seconds', 0)} s"
                     f"</small>{err}{f'<table>{figs}</table>' if figs else ''}</div>")
    files = "".join(
        f"<tr><td>{html.escape(f['source'])}</td><td>{html.escape(Path(f['file']).name)}</td>"
        f"<td class='num'>{_fmt(f.get('bytes', 0))}</td><td><small>"
        f"{html.escape(f.get('sha256') or f.get('error', ''))}</small></td></tr>"
        for f in prov["files"])
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(cfg.client)}: one-to-one reports</title><style>{_CSS}</style></head><body>
<h1>{html.escape(cfg.client)}</h1>
<p class="sub">One-to-one programme reports, data as of {cfg.as_of}. Status:
<span class="{result['status']}">{result['status']}</span> in {result.get('seconds', 0)} s.</p>
{scorecard_html or "<p><i>No scorecard: the client's data could not be loaded.</i></p>"}
<h2>Reports</h2>{''.join(cards)}
<h2>What produced these reports</h2>
<p class="sub">Config <code>{html.escape(prov['config'] or '')}</code> (sha256
<small>{html.escape(str(prov['config_sha256']))}</small>), onetoone {prov['onetoone']}
{('commit ' + html.escape(prov['git_commit'])) if prov['git_commit'] else ''}, Python {prov['python']},
generated {prov['generated_at']}. Personal data (email addresses, phone numbers, street addresses)
is masked in these pages.</p>
<table><tr><th>source</th><th>file</th><th>bytes</th><th>sha256</th></tr>{files}</table>
</body></html>"""
    (client_dir / "index.html").write_text(PiiMasker()(body), encoding="utf-8")
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
              notebooks: list[str] | None = None, progress: bool = True) -> dict:
    """Run every client (up to ``jobs`` in parallel); write run.json and an index; print a summary.

    Returns the summary dict (``ok`` is False when any client failed).
    """
    from tqdm.auto import tqdm

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now().replace(microsecond=0)
    t0 = time.perf_counter()
    n_nb = len(notebooks or [n for n in paths.REPORT_NOTEBOOKS if (paths.NOTEBOOKS / n).exists()])
    total = len(configs) * (n_nb + 3)  # ingest + notebooks + html + scorecard
    bar = tqdm(total=total, desc="batch", unit="step", disable=not progress)
    results: list[dict] = []
    if jobs <= 1 or len(configs) == 1:
        class _Bar:
            def put(self, msg):
                bar.set_postfix_str(msg[-60:])
                bar.update(1)
        for c in configs:
            results.append(run_client(Path(c), out_dir, notebooks, _Bar()))
    else:
        ctx = get_context("spawn")
        with ctx.Manager() as mgr:
            q = mgr.Queue()
            with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
                futs = [pool.submit(run_client, Path(c), out_dir, notebooks, q) for c in configs]
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
                    except Exception as exc:  # a worker that died outright
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
