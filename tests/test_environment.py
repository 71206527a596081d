"""environment.yml stays in sync with pyproject; the CLI describes itself."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def test_environment_yml_installs_the_project_with_pyprojects_python():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    py = next(d for d in deps if isinstance(d, str) and d.startswith("python="))
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    lo = pyproject["project"]["requires-python"].split(",")[0].removeprefix(">=")
    assert py.split("=")[1].startswith(lo), (py, lo)
    pip = next(d["pip"] for d in deps if isinstance(d, dict))
    extras = pyproject["project"]["optional-dependencies"]
    (editable,) = [p for p in pip if p.startswith("-e .")]
    wanted = editable.split("[")[1].rstrip("]").split(",") if "[" in editable else []
    assert set(wanted) <= set(extras), (wanted, extras)
    # nothing pinned twice: the package list lives in pyproject only
    assert all(p.startswith("-e ") for p in pip), pip


def test_cli_help_names_every_subcommand():
    out = subprocess.run([sys.executable, "-m", "onetoone.cli", "--help"], capture_output=True,
                         text=True, check=True).stdout
    for cmd in ["sample", "ingest", "run", "batch", "survey", "lab", "demo"]:
        assert cmd in out, cmd
    for cmd in ["ingest", "run", "batch", "lab"]:
        sub = subprocess.run([sys.executable, "-m", "onetoone.cli", cmd, "--help"],
                             capture_output=True, text=True, check=True).stdout
        assert "usage: onetoone " + cmd in sub


def test_bad_config_exits_2_with_message(tmp_path):
    bad = tmp_path / "c.yaml"
    bad.write_text("client: A\nas_of: 2026-01-01\nsources: []\ncurrency: x\n")
    r = subprocess.run([sys.executable, "-m", "onetoone.cli", "ingest", str(bad)],
                       capture_output=True, text=True, check=False)
    assert r.returncode == 2 and "currency" in r.stderr


def test_data_model_doc_is_current():
    from onetoone.columns import markdown

    assert (ROOT / "docs" / "data_model.md").read_text() == markdown(), \
        "regenerate: python -m onetoone.columns > docs/data_model.md"
