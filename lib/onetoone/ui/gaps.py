"""Display what a stage lacks (:mod:`onetoone.gaps`) at the top of a notebook."""

from __future__ import annotations

import html

from ..gaps import Gap, stage_gaps

__all__ = ["gaps_html", "show_gaps"]


def gaps_html(gaps: list[Gap]) -> str:
    """One note per gap (plain sentences), or one line saying every input is there."""
    if not gaps:
        return "<p class='onetoone-gaps'><i>Every input this stage uses is in the workspace.</i></p>"
    items = "".join(f"<li>{html.escape(g.sentence)}</li>" for g in gaps)
    return ("<div class='onetoone-gaps' style='border-left:4px solid #d97706;background:#fffbeb;"
            "padding:.5rem 1rem;margin:.5rem 0'><b>What this client's data lacks</b>"
            f"<ul style='margin:.3rem 0'>{items}</ul></div>")


def show_gaps(ws, stage: str) -> list[Gap]:
    """Display the stage's gaps (HTML in Jupyter, plain text elsewhere); return them."""
    from IPython.display import HTML, display

    gaps = stage_gaps(ws, stage)
    display(HTML(gaps_html(gaps)))
    return gaps
