"""`onetoone survey` create / status / export / results, and the results notebook under papermill."""

from __future__ import annotations

import random
import stat
from pathlib import Path

import pandas as pd
import pytest

from onetoone.config import load_config
from onetoone.nb import figures_from_notebook
from onetoone.readiness import admin
from onetoone.readiness.cli import main
from onetoone.readiness.model import GROUPS
from onetoone.readiness.store import SurveyStore

ROOT = Path(__file__).resolve().parents[1]


def _fill(cfg_path: Path, seed: int = 7) -> None:
    """Every invited respondent answers (managers high, customers low) and submits."""
    cfg = load_config(cfg_path)
    rng = random.Random(seed)
    with SurveyStore(cfg.survey_db_url) as store:
        tokens = pd.read_sql_table("respondents", store.engine)
        for _, r in tokens.iterrows():
            base = {"managers": 4, "employees": 3, "customers": 2}[r["group"]]
            for item in store.qs.required_items(GROUPS[r["group"]]):
                store.save_answer(r["token"], item, min(5, max(1, base + rng.choice((-1, 0, 1)))))
            store.submit(r["token"])


def test_create_status_export_results(survey_client, tmp_path, capsys):
    out = tmp_path / "links.csv"
    assert main(["survey", "create", str(survey_client), "--group", "managers=2", "--group",
                 "customers=3", "--base-url", "https://survey.example.com", "--out", str(out)]) == 0
    links = pd.read_csv(out)
    assert len(links) == 5 and links["link"].str.startswith("https://survey.example.com/?token=").all()
    assert stat.S_IMODE(out.stat().st_mode) == 0o600  # the links open respondents' answers
    assert main(["survey", "status", str(survey_client)]) == 0
    text = capsys.readouterr().out
    assert "managers" in text and "customers" in text
    _fill(survey_client)
    csv = tmp_path / "answers.csv"
    assert main(["survey", "export", str(survey_client), "--out", str(csv)]) == 0
    exported = pd.read_csv(csv)
    qs_counts = {"managers": 35, "customers": 31}
    assert len(exported) == 2 * qs_counts["managers"] + 3 * qs_counts["customers"]
    assert "token" not in exported.columns and exported["respondent"].nunique() == 5
    assert exported["value"].between(1, 5).all()
    assert main(["survey", "results", str(survey_client)]) == 0
    text = capsys.readouterr().out
    assert "Priorities:" in text and "start with:" in text


@pytest.mark.parametrize("spec", ["partners=3", "managers", "managers=x", "managers=-2"])
def test_create_refuses_bad_groups(survey_client, spec, capsys):
    assert main(["survey", "create", str(survey_client), "--group", spec]) == 2
    assert "expected" in capsys.readouterr().err


def test_voila_command_serves_one_notebook_safely():
    cmd = admin.voila_command(9999)
    assert cmd[3].endswith("notebooks/readiness_survey.ipynb")
    assert "--VoilaConfiguration.show_tracebacks=False" in cmd and "--Voila.ip=127.0.0.1" in cmd
    import json

    conf = json.loads((ROOT / "voila.json").read_text())
    assert conf["VoilaConfiguration"]["strip_sources"] is True
    assert conf["VoilaConfiguration"]["show_tracebacks"] is False
    assert conf["MappingKernelManager"]["cull_idle_timeout"] > 0


def test_results_notebook_records_the_scores(survey_client, tmp_path):
    import papermill as pm

    assert main(["survey", "create", str(survey_client), "--group", "managers=3", "--group",
                 "customers=4", "--out", str(tmp_path / "l.csv")]) == 0
    _fill(survey_client)
    out = tmp_path / "results.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "readiness_results.ipynb"), str(out),
                        parameters={"CONFIG": str(survey_client)}, cwd=str(ROOT / "notebooks"),
                        progress_bar=False, kernel_name="onetoone")
    fig = figures_from_notebook(out)["readiness"]
    cfg = load_config(survey_client)
    from onetoone.readiness.results import readiness_results

    direct = readiness_results(cfg).figures()
    assert fig["respondents"] == 7 and fig["submitted_customers"] == 4
    for stage in ("identify", "differentiate", "interact", "customize"):
        assert fig[f"score_{stage}"] == direct[f"score_{stage}"]
    assert fig["largest_gap"] > 1  # managers answered around 4, customers around 2
    assert "first_priority" in fig


def test_results_without_a_survey_use_the_data_and_create_no_file(survey_client):
    from onetoone.readiness.results import readiness_results
    from onetoone.workspace import Workspace

    cfg = load_config(survey_client)
    with Workspace.open(cfg) as ws:
        ws.write("interactions", pd.DataFrame({"record_key": ["crm:1", None], "channel": ["web", "store"]}))
    res = readiness_results(cfg)
    assert res.respondents == 0 and res.survey_id is None
    assert not (survey_client.parent / "client_survey.sqlite").exists()
    assert res.data_scores.set_index("stage").loc["interact", "data_score"] > 1
    assert res.priorities["reason"].str.contains("measured in the data").all()
    assert "No priorities" not in res.summary_text()


def test_bad_arguments_get_one_line(survey_client, tmp_path, capsys):
    assert main(["survey", "create", str(survey_client), "--group", "managers=0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err
    assert main(["survey", "create", str(survey_client), "--group", "managers=1",
                 "--base-url", "http://survey.example.com"]) == 2
    assert "https" in capsys.readouterr().err
    assert main(["survey", "status", str(survey_client), "--survey", "nope"]) == 2
    err = capsys.readouterr().err
    assert "no survey 'nope'" in err and err.count("\n") == 1
    assert main(["survey", "export", str(survey_client), "--out", str(tmp_path / "a.csv")]) == 2
    assert "no survey yet" in capsys.readouterr().err


def test_export_lists_every_file_and_the_store_is_private(survey_client, tmp_path, capsys):
    out = tmp_path / "links.csv"
    out.write_text("old")
    out.chmod(0o644)  # an existing links file is made private too
    assert main(["survey", "create", str(survey_client), "--group", "customers=2", "--out", str(out)]) == 0
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    cfg = load_config(survey_client)
    db = Path(cfg.survey_db_url.split("///", 1)[1])
    assert stat.S_IMODE(db.stat().st_mode) == 0o600  # every token is in it
    with SurveyStore(cfg.survey_db_url) as store:
        tok = pd.read_csv(out)["token"][0]
        for item in store.qs.required_items("customer"):
            store.save_answer(tok, item, 3)
        store.save_comment(tok, "identify", "They never remember me.")
        store.submit(tok)
    for extra in db.parent.glob(db.name + "-*"):
        assert stat.S_IMODE(extra.stat().st_mode) == 0o600, extra
    capsys.readouterr()
    csv = tmp_path / "answers.csv"
    assert main(["survey", "export", str(survey_client), "--out", str(csv)]) == 0
    text = capsys.readouterr().out
    assert str(csv) in text and str(tmp_path / "answers_comments.csv") in text
    assert (tmp_path / "answers_comments.csv").exists()


def test_serve_checks_the_links_address(survey_client, capsys):
    assert main(["survey", "create", str(survey_client), "--group", "managers=1",
                 "--base-url", "https://survey.example.com"]) == 0
    capsys.readouterr()
    assert main(["survey", "serve", str(survey_client), "--port", "8870"]) == 2
    err = capsys.readouterr().err
    assert "https://survey.example.com" in err and "--public-url" in err and err.count("\n") == 1
    assert main(["survey", "serve", str(survey_client), "--public-url", "https://survey.example.com/x"]) == 2
    assert "without a path" in capsys.readouterr().err
    assert admin.same_address("https://survey.example.com", "https://survey.example.com:443/")
    assert not admin.same_address("http://127.0.0.1:8866", "http://127.0.0.1:8870")
    conf = admin.nginx_config("https://survey.example.com", 8870, client="Acme Retail")
    assert "proxy_pass http://127.0.0.1:8870;" in conf and "listen 443 ssl;" in conf
    assert "return 301 https://" in conf and "$request_uri" in conf and "proxy_buffering off" in conf
    assert "$uri\" $status" in conf  # the access log keeps the path, not the token


def test_preheated_pool_is_sized_from_the_memory_available(tmp_path):
    info = tmp_path / "meminfo"
    info.write_text("MemTotal:        4000000 kB\nMemAvailable:    2048000 kB\n")
    assert admin.default_warm(40, meminfo=str(info)) == 5  # a quarter of 2000 MB at 100 MB
    info.write_text("MemAvailable:   64000000 kB\n")
    assert admin.default_warm(40, meminfo=str(info)) == admin.MAX_WARM
    assert admin.default_warm(8, meminfo=str(info)) == 8  # never more than the kernel cap
    info.write_text("MemAvailable:     100000 kB\n")
    assert admin.default_warm(40, meminfo=str(info)) == 1
    assert admin.default_warm(40, meminfo=str(tmp_path / "none")) == admin.DEFAULT_WARM


def test_voila_command_waits_for_the_respondent_without_a_cell_timeout():
    pooled = admin.voila_command(9999, warm=4)
    assert "--VoilaConfiguration.default_pool_size=4" in pooled
    assert "--VoilaExecutor.timeout=-1" in pooled  # the pooled kernel's last cell waits for its respondent
    plain = admin.voila_command(9999, warm=0)
    assert "--VoilaConfiguration.preheat_kernel=True" not in plain
    assert "--VoilaExecutor.timeout=300" in plain
    for cmd in (pooled, plain):  # a crowd's late display messages are waited for, not dropped
        wait = next(a for a in cmd if a.startswith("--VoilaExecutor.iopub_timeout="))
        assert int(wait.split("=")[1]) >= 60
    denied = next(a for a in pooled if a.startswith("--VoilaConfiguration.extension_denylist="))
    assert "jupyterlab-plotly" in denied and "jupyter-widgets" not in denied


def test_busy_page_reloads_itself_and_says_so():
    from onetoone.readiness.gate import BUSY_RETRY_SECONDS, message_html

    page = message_html("busy")
    assert f'http-equiv="refresh" content="{BUSY_RETRY_SECONDS}"' in page
    assert f"every {BUSY_RETRY_SECONDS} seconds" in page and "answers so far are safe" in page
    assert "refresh" not in message_html("unknown")


def test_only_a_ready_pooled_kernel_is_handed_out():
    """Voila hands out the first pool entry; the survey's manager puts a ready one first."""
    import asyncio

    from voila.request_info_handler import RequestInfoSocketHandler

    from onetoone.readiness.server import SurveyKernelManager

    async def run():
        loop = asyncio.get_running_loop()

        def done(kernel_id):
            f = loop.create_future()
            f.set_result({"kernel_id": kernel_id})
            return f

        km = SurveyKernelManager.__new__(SurveyKernelManager)  # the pool logic only
        km._warming = {}
        booting, ready = done("k-booting"), done("k-ready")
        pending = loop.create_future()
        km._pools = {"nb": [pending, booting, ready]}
        RequestInfoSocketHandler._waiters["k-ready"] = object()
        try:
            assert km.take_ready("nb") is True
            assert km._pools["nb"][0] is ready
            del RequestInfoSocketHandler._waiters["k-ready"]
            assert km.take_ready("nb") is False  # a kernel still booting is not handed out
        finally:
            RequestInfoSocketHandler._waiters.pop("k-ready", None)
            pending.cancel()

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:  # its own loop: Playwright's may be running in this thread
        pool.submit(lambda: asyncio.run(run())).result()


def test_memory_is_released_at_most_every_few_seconds():
    from onetoone.readiness import server

    t = server._released_at + 10 * server.RELEASE_EVERY_SECONDS
    assert server.release_memory(now=t) is True
    assert server.release_memory(now=t + 1) is False  # a burst of shutdowns collects once
    assert server.release_memory(now=t + server.RELEASE_EVERY_SECONDS) is True
