"""Readiness: the Broad View and One-to-One Gap questionnaires, their responses store, scoring,
data-measured readiness and priorities. Pure: no plotly, no ipywidgets here."""

from .model import AUDIENCES, GROUPS, STAGES, load_questionnaires, validate_answer  # noqa: F401
