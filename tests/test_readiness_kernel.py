"""Raw widget messages sent to a real kernel (what a script can do to a Voila page without a browser).

The form lives in an `onetoone` kernel; the test sends `comm_msg` messages on the shell channel
as a client would, and watches iopub: a refused message must publish no error and no traceback.
A stock ipywidgets RadioButtons given the same message does publish one (the control).
"""

from __future__ import annotations

import json
import time

import pytest

from onetoone.config import load_config
from onetoone.readiness.model import COMMENT_MAX_CHARS
from onetoone.readiness.store import SurveyStore

pytest.importorskip("jupyter_client")


@pytest.fixture
def kernel():
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="onetoone")
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _run(kc, code: str) -> list[dict]:
    out: list[dict] = []
    reply = kc.execute_interactive(code, timeout=60, output_hook=out.append)
    assert reply["content"]["status"] == "ok", reply["content"]
    return out


def _send(kc, comm_id: str, data: dict) -> list[dict]:
    """Send one comm message, then return what iopub published until the kernel is idle again."""
    msg = kc.session.msg("comm_msg", {"comm_id": comm_id, "data": data})
    kc.shell_channel.send(msg)
    published = []
    while True:
        m = kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            continue
        published.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return published


def _errors(published: list[dict]) -> list[dict]:
    return [m for m in published if m["msg_type"] == "error"
            or (m["msg_type"] == "stream" and "Traceback" in m["content"].get("text", ""))
            or (m["msg_type"] in ("display_data", "execute_result")
                and "Traceback" in json.dumps(m["content"]))]


def test_raw_messages_publish_no_traceback_and_submit_once(kernel, survey_client):
    cfg = load_config(survey_client)
    with SurveyStore(cfg.survey_db_url) as store:
        _, t = store.create_survey("Acme Retail", {"employees": 1})
        token = t["token"][0]
        for item in store.qs.required_items("employee"):
            if item != "bv_identify_channels":
                store.save_answer(token, item, 2)
    # the control, before the form hardens the kernel: stock ipywidgets sends the traceback of
    # a bad index to the page
    out = _run(kernel, """
import json, ipywidgets as w
plain = w.RadioButtons(options=[("a", 1), ("b", 2)])
print(plain.model_id)
""")
    plain = "".join(m["content"]["text"] for m in out if m["msg_type"] == "stream").strip()
    control = _send(kernel, plain, {"method": "update", "state": {"index": 9}, "buffer_paths": []})
    assert _errors(control), "expected stock ipywidgets to publish the error (the test's control)"

    out = _run(kernel, f"""
from onetoone.ui.survey import survey_app
form = survey_app({str(survey_client)!r}, environ={{"QUERY_STRING": "token={token}"}})
form._show_page(len(form.parts) - 1)
print(json.dumps({{"radio": form.radios["bv_identify_channels"].model_id,
                   "comment": form.comment_boxes["identify"].model_id,
                   "submit": form.submit.model_id}}))
""")
    ids = json.loads("".join(m["content"]["text"] for m in out if m["msg_type"] == "stream"))

    for state in ({"index": 9}, {"index": -1}, {"index": "x"}, {"value": 7}):
        published = _send(kernel, ids["radio"], {"method": "update", "state": state, "buffer_paths": []})
        assert not _errors(published), published
    published = _send(kernel, ids["comment"], {"method": "update", "state": {"value": "z" * 200_000},
                                               "buffer_paths": []})
    assert not _errors(published)
    time.sleep(1.5)  # comments are saved after a pause in typing
    with SurveyStore(cfg.survey_db_url) as store:
        assert "bv_identify_channels" not in store.draft(token).answers
        assert len(store.draft(token).comments["identify"]) == COMMENT_MAX_CHARS

    # submit while one answer is missing: refused politely; then answer and submit three times
    _send(kernel, ids["submit"], {"method": "custom", "content": {"event": "click"}})
    assert not _errors(_send(kernel, ids["radio"], {"method": "update", "state": {"index": 1},
                                                    "buffer_paths": []}))
    for _ in range(3):
        assert not _errors(_send(kernel, ids["submit"], {"method": "custom", "content": {"event": "click"}}))
    with SurveyStore(cfg.survey_db_url) as store:
        assert store.count("submissions") == 1
        saved = store.answers()
        assert len(saved) == len(store.qs.required_items("employee"))
        assert saved.set_index("item_id")["value"]["bv_identify_channels"] == 2


@pytest.fixture
def voila_like_kernel(survey_client):
    """A kernel started the way Voila starts a respondent's: the server's environment (which
    `survey serve` builds) plus the request's QUERY_STRING, in the notebook's folder, and without
    PYTEST_CURRENT_TEST (while it is set ipykernel stops forwarding the process's stderr, so a
    test would miss that route to the page)."""
    from jupyter_client.manager import KernelManager

    from onetoone import paths
    from onetoone.readiness.admin import voila_env

    cfg = load_config(survey_client)
    with SurveyStore(cfg.survey_db_url) as store:
        _, t = store.create_survey("Acme Retail", {"customers": 1})
    env = voila_env(survey_client)
    env["QUERY_STRING"] = f"token={t['token'][0]}"
    env["ONETOONE_SURVEY_LOG"] = str(survey_client.parent / "survey_kernel.log")
    assert "PYTEST_CURRENT_TEST" not in env
    km = KernelManager(kernel_name="onetoone")
    km.start_kernel(env=env, cwd=str(paths.NOTEBOOKS))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc, survey_client.parent / "survey_kernel.log"
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _until_idle(kc, msg_id: str) -> list[dict]:
    published = []
    while True:
        m = kc.get_iopub_msg(timeout=30)
        if m["parent_header"].get("msg_id") != msg_id:
            published.append(m)  # a reply to nothing (fd output is sent with the last parent)
            continue
        published.append(m)
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return published


def _shell(kc, msg_type: str, content: dict) -> list[dict]:
    msg = kc.session.msg(msg_type, content)
    kc.shell_channel.send(msg)
    return _until_idle(kc, msg["header"]["msg_id"])


def _leaks(published: list[dict]) -> list[dict]:
    """Anything that is not the form's own widget traffic: errors, streams, tracebacks, paths."""
    out = []
    for m in published:
        if m["msg_type"] == "execute_input":  # the test's own code echoed (Voila drops execute_request)
            continue
        text = json.dumps(m["content"])
        if m["msg_type"] in ("error", "stream") or "Traceback" in text or 'File \\"' in text \
                or "site-packages" in text:
            out.append(m)
    return out


def test_nothing_reaches_the_page_by_any_route(voila_like_kernel):
    import nbformat

    from onetoone import paths

    kc, log_path = voila_like_kernel
    # the control: in this kernel the process's stderr does reach the client
    control = _shell(kc, "execute_request", {"code": "import os; os.write(2, b'Traceback (control)\\n')",
                                             "silent": False})
    time.sleep(0.5)
    control += _drain(kc)
    assert any(m["msg_type"] == "stream" and "control" in m["content"]["text"] for m in control), \
        "expected the process's stderr to be forwarded (the test's control)"

    nb = nbformat.read(paths.NOTEBOOKS / "readiness_survey.ipynb", as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code"
                     and "parameters" not in c.metadata.get("tags", []))
    out = _shell(kc, "execute_request", {"code": 'CONFIG = ""\n' + code
                                         + "\nform = survey_app(CONFIG or None)", "silent": False})
    assert not [m for m in out if m["msg_type"] == "error"], out
    ids_out = _shell(kc, "execute_request", {"code": """
import json
import time
print(json.dumps({"radio": next(iter(form.radios.values())).model_id,
                  "comment": next(iter(form.comment_boxes.values())).model_id,
                  "progress": form.progress.model_id, "box": form.nav.model_id,
                  "layout": form.progress.layout.model_id, "html": form.header.model_id,
                  "style": form.next.style.model_id, "next": form.next.model_id}))
""", "silent": False})
    ids = json.loads("".join(m["content"]["text"] for m in ids_out if m["msg_type"] == "stream"))

    published = _shell(kc, "execute_request", {"code": "import os, sys; os.write(2, b'Traceback x\\n'); "
                                               "print('Traceback y', file=sys.stderr); "
                                               "import warnings; warnings.warn('w')",
                                               "silent": False})
    bad_states = [{"index": 9}, {"index": "x"}, {"value": 7}, {"layout": "IPY_MODEL_nope"},
                  {"children": ["IPY_MODEL_nope"]}, {"max": "many"}, {"width": {"a": 1}},
                  {"description": 5}, {"_dom_classes": 3}, "not a dict"]
    for comm_id in ids.values():
        for state in bad_states:
            published += _shell(kc, "comm_msg", {"comm_id": comm_id, "data": {
                "method": "update", "state": state, "buffer_paths": []}})
        published += _shell(kc, "comm_msg", {"comm_id": comm_id, "data": {"method": "update",
                            "state": {"value": 1}, "buffer_paths": [["value"]]}})
        published += _shell(kc, "comm_msg", {"comm_id": comm_id, "data": {"method": "bogus"}})
        published += _shell(kc, "comm_msg", {"comm_id": comm_id, "data": "nope"})
    published += _shell(kc, "comm_msg", {"comm_id": "no-such-comm", "data": {"method": "update"}})
    for target, data in (("jupyter.widget", {}), ("jupyter.widget", {"state": {"_model_name": "Nope"}}),
                         ("jupyter.widget", {"state": {"_model_name": "IntSliderModel",
                                                       "_model_module": "@jupyter-widgets/controls",
                                                       "_model_module_version": "2.0.0",
                                                       "value": "x"}}),
                         ("jupyter.widget.control", {"method": "nope"}), ("no.such.target", {})):
        published += _shell(kc, "comm_open", {"comm_id": f"evil-{len(published)}",
                                              "target_name": target, "data": data})
    published += _shell(kc, "comm_close", {"comm_id": "no-such-comm", "data": {}})
    time.sleep(1)
    published += _drain(kc)
    assert not _leaks(published), _leaks(published)[:3]
    # the refusals are kept where an operator can read them
    assert "refused" in log_path.read_text()


def _drain(kc) -> list[dict]:
    out = []
    while True:
        try:
            out.append(kc.get_iopub_msg(timeout=0.5))
        except Exception:  # noqa: BLE001 - queue.Empty
            return out
