"""Raw widget messages sent to a real kernel (what a script can do to a Voila page without a browser).

The form lives in an `onetoone` kernel; the test sends `comm_msg` messages on the shell channel
as a client would, and watches iopub: a refused message must publish no error and no traceback.
A stock ipywidgets RadioButtons given the same message does publish one (the control).
"""

from __future__ import annotations

import json

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
    out = _run(kernel, f"""
import json, ipywidgets as w
from onetoone.ui.survey import survey_app
form = survey_app({str(survey_client)!r}, environ={{"QUERY_STRING": "token={token}"}})
form._show_page(len(form.parts) - 1)
plain = w.RadioButtons(options=[("a", 1), ("b", 2)])
print(json.dumps({{"radio": form.radios["bv_identify_channels"].model_id,
                   "comment": form.comment_boxes["identify"].model_id,
                   "submit": form.submit.model_id, "plain": plain.model_id}}))
""")
    ids = json.loads("".join(m["content"]["text"] for m in out if m["msg_type"] == "stream"))

    # the control: stock ipywidgets sends the traceback of a bad index to the page
    control = _send(kernel, ids["plain"], {"method": "update", "state": {"index": 9}, "buffer_paths": []})
    assert _errors(control), "expected stock ipywidgets to publish the error (the test's control)"

    for state in ({"index": 9}, {"index": -1}, {"index": "x"}, {"value": 7}):
        published = _send(kernel, ids["radio"], {"method": "update", "state": state, "buffer_paths": []})
        assert not _errors(published), published
    published = _send(kernel, ids["comment"], {"method": "update", "state": {"value": "z" * 200_000},
                                               "buffer_paths": []})
    assert not _errors(published)
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
