"""The sample client's workspace at each stage, built once per test session and shared.

Use from a test module::

    from sample_support import sample_workspace
    cfg = sample_workspace("differentiate")   # ingested, identified and differentiated

Each stage gets its own DuckDB file (a copy of the previous stage's, then that stage's pipeline),
so a test that writes into one cannot disturb another stage's tests. Tests that change a
workspace should copy it first (:func:`private_copy`). data/sample itself is never written.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from onetoone import paths
from onetoone.config import ClientConfig, load_config

ORDER = ("ingest", "identify", "differentiate", "interact", "customize")
_ROOT = Path(tempfile.mkdtemp(prefix="onetoone-sample-"))
_BUILT: dict[str, Path] = {}


def _cfg_with_workspace(ws_path: Path) -> ClientConfig:
    cfg = load_config(paths.SAMPLE_CONFIG)
    cfg.workspace = str(ws_path)
    return cfg


def sample_workspace(stage: str = "ingest") -> ClientConfig:
    """The sample client's config, pointing at a workspace built up to and including ``stage``."""
    from onetoone.cli import run_stage
    from onetoone.ingest import ingest
    from onetoone.workspace import Workspace

    if stage not in ORDER:
        raise ValueError(f"unknown stage {stage!r}; expected one of {ORDER}")
    if stage not in _BUILT:
        path = _ROOT / f"{stage}.duckdb"
        i = ORDER.index(stage)
        if i == 0:
            cfg = _cfg_with_workspace(path)
            with Workspace(path) as ws:
                ingest(cfg, ws, echo=False)
        else:
            prev = sample_workspace(ORDER[i - 1])
            shutil.copy(prev.workspace_path, path)
            cfg = _cfg_with_workspace(path)
            with Workspace(path) as ws:
                run_stage(stage, cfg, ws, echo=False)
        _BUILT[stage] = path
    return _cfg_with_workspace(_BUILT[stage])


def private_copy(cfg: ClientConfig, dest_dir: Path) -> ClientConfig:
    """A copy of a built sample workspace in ``dest_dir`` that a test may change freely."""
    dest = Path(dest_dir) / Path(cfg.workspace_path).name
    shutil.copy(cfg.workspace_path, dest)
    return _cfg_with_workspace(dest)


def ground_truth(name: str):
    """A ground-truth table of the sample (e.g. 'records', 'people') as pandas."""
    import pandas as pd

    folder = paths.SAMPLE_DIR / "ground_truth"
    matches = sorted(folder.glob(f"{name}.*"))
    if not matches:
        raise FileNotFoundError(f"no ground-truth file {name}.* in {folder}")
    f = matches[0]
    return pd.read_parquet(f) if f.suffix == ".parquet" else pd.read_csv(f, dtype=str)


def sample_config_file(stage: str, dest_dir: Path) -> Path:
    """A client YAML in ``dest_dir`` for the sample client, on a private copy of the workspace
    built up to ``stage`` (source paths made absolute), for notebook and CLI tests."""
    import yaml

    built = private_copy(sample_workspace(stage), Path(dest_dir))
    raw = yaml.safe_load(paths.SAMPLE_CONFIG.read_text(encoding="utf-8"))
    for s in raw.get("sources", []):
        s["path"] = str((paths.SAMPLE_DIR / s["path"]).resolve())
    raw["workspace"] = str(built.workspace_path)
    out = Path(dest_dir) / "client.yaml"
    out.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return out


def run_notebook(name: str, config_path: Path, out_dir: Path, **parameters) -> dict:
    """Execute notebooks/<name> with papermill on a client; return the figures it recorded.

    The executed notebook is kept as ``out_dir/<name>`` for inspection when a test fails.
    """
    import papermill as pm

    from onetoone.nb import figures_from_notebook

    out = Path(out_dir) / name
    pm.execute_notebook(str(paths.NOTEBOOKS / name), str(out),
                        parameters={"CONFIG": str(config_path), **parameters},
                        kernel_name="onetoone", cwd=str(paths.NOTEBOOKS), progress_bar=False)
    return figures_from_notebook(out)
