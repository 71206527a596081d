"""House rules for the notebooks in git: thin, output-free, one parseable parameters cell."""

from __future__ import annotations

import ast
import json
import re

import pytest

from onetoone import paths

NOTEBOOKS = sorted(paths.NOTEBOOKS.glob("*.ipynb"))
REQUIRED = ["01_identify.ipynb", "02_differentiate.ipynb", "03_interact.ipynb",
            "04_customize.ipynb", "readiness_survey.ipynb", "readiness_results.ipynb"]


def test_every_notebook_exists():
    assert sorted(p.name for p in NOTEBOOKS) == sorted(REQUIRED)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_house_rules(nb_path):
    nb = json.loads(nb_path.read_text(encoding="utf-8"))
    assert nb["metadata"]["kernelspec"]["name"] == "onetoone"
    cells = nb["cells"]
    if nb_path.name != "readiness_survey.ipynb":  # the Voila app draws its own title
        assert cells[0]["cell_type"] == "markdown" and "".join(cells[0]["source"]).lstrip().startswith("# ")
    code = [c for c in cells if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        "stored with outputs: strip them (nbstripout)"
    params = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
    for c in code:
        src = "".join(c["source"])
        assert not re.search(r"^\s*(def|class)\s+\w+", src, re.MULTILINE), "functions live in lib/onetoone"
    # papermill can parse and override every parameter: NAME = literal  # comment without '='
    src = "".join(params[0]["source"])
    tree = ast.parse(src)
    for node in tree.body:
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)[:80]
        name = node.targets[0].id
        assert name.isupper(), f"parameter {name} should be UPPER_CASE"
        ast.literal_eval(node.value)
    for line in src.splitlines():
        if line.strip() and not line.strip().startswith("#"):
            assert line.count("=") == 1, f"papermill cannot parse {line!r} (one '=' per line)"
            assert "#" in line, f"say what {line.split('=')[0].strip()} allows in a comment"
