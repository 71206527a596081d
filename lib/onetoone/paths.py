"""Where the workbook's own files are (the package is installed editable from lib/)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
SAMPLE_DIR = ROOT / "data" / "sample"
SAMPLE_CONFIG = SAMPLE_DIR / "client.yaml"
STAGE_NOTEBOOKS = ("01_identify.ipynb", "02_differentiate.ipynb", "03_interact.ipynb",
                   "04_customize.ipynb")
REPORT_NOTEBOOKS = (*STAGE_NOTEBOOKS, "readiness_results.ipynb")
