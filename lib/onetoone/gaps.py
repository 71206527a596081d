"""What a client's data lacks, per stage, in plain sentences.

Many clients hand over only some exports (an order-lines file and nothing else is common). A
stage that lacks an input still runs on what there is; each notebook opens by saying, in one
sentence per gap, what is missing and what it would show. :func:`stage_gaps` reads only the
workspace (which tables exist, have rows, and carry the columns that matter), so the same
sentences come out of the notebook, the batch and a test.

Gaps are about the client's *inputs* (what ingest loaded); what a stage could not compute from
them (no needs segments, no holdout check) is in that stage's own notes.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis

from . import columns as C
from .workspace import Workspace

__all__ = ["STAGES", "Gap", "has_rows", "stage_gaps"]

STAGES = ("identify", "differentiate", "interact", "customize", "readiness")


@dataclass(frozen=True)
class Gap:
    """One missing input of a stage: what is missing and the plain sentence a notebook shows."""

    stage: str
    missing: str  # a canonical table, or "<table>.<column group>"
    sentence: str


def _any(t) -> bool:
    """Does the Ibis expression ``t`` have a row? (One row is looked for, on either engine.)"""
    return int(t.limit(1).count().to_pyarrow().as_py()) > 0


def has_rows(ws: Workspace, table: str) -> bool:
    """Does the workspace hold ``table`` with at least one row?"""
    if not ws.has(table):
        return False
    return _any(ws.table(table))


def _filled(ws: Workspace, table: str, columns: list[str]) -> bool:
    """Is any of ``columns`` of ``table`` non-null in some row?"""
    t = ws.table(table)
    cols = [c for c in columns if c in t.columns]
    if not cols:
        return False
    return _any(t.filter(ibis.or_(*(t[c].notnull() for c in cols))))


def _distinct(ws: Workspace, table: str, column: str) -> int:
    t = ws.table(table)
    if column not in t.columns:
        return 0
    return int(t[column].nunique().to_pyarrow().as_py())


def _inputs(ws: Workspace) -> dict[str, bool]:
    records = has_rows(ws, "customer_records")
    tx = has_rows(ws, "transactions")
    products = has_rows(ws, "products") and _distinct(ws, "products", C.PRODUCT_ID) >= 2
    return {
        "customer_records": records,
        "transactions": tx,
        "interactions": has_rows(ws, "interactions"),
        "products": products,
        "components": has_rows(ws, "components"),
        "consent": records and _filled(ws, "customer_records", list(C.CONSENT_CHANNELS.values())),
        "line_cost": tx and (_filled(ws, "transactions", [C.COST])
                             or (products and _filled(ws, "products", [C.UNIT_COST]))),
    }


_SENTENCES: dict[str, dict[str, str]] = {
    "identify": {
        "customer_records": "This client has no customer records, so there is nothing to resolve "
                            "and each customer id on the transactions counts as one customer; "
                            "customer exports (CRM, web accounts, loyalty cards) would show how "
                            "many records make one customer, golden records, completeness, "
                            "consent and a customer lookup.",
        "consent": "The customer records carry no consent, so nobody counts as addressable; "
                   "opt-ins per channel would show who may be contacted by email, text, phone "
                   "or post.",
        "interactions": "There is no interactions file, so only purchases can be recognised; "
                        "contacts (call centre, campaigns) would show recognition at every "
                        "contact point.",
    },
    "differentiate": {
        "transactions": "This client has no transactions, so no customer's value can be "
                        "measured; an order-lines export would show value, lifetime value, "
                        "tiers, needs segments and the picket fence.",
        "interactions": "There is no interactions file, so cost to serve counts returns only; "
                        "contacts would show who costs more to serve than they bring.",
        "products": "There is no product catalogue, so margins use each line's own cost and "
                    "needs cannot be read from categories or prices; a catalogue with "
                    "categories, list prices and unit costs would show both.",
        "line_cost": "The order lines carry no cost, so margin is unknown and counts as the whole "
                     "amount; line costs or product unit costs would show the true margin.",
    },
    "interact": {
        "interactions": "There is no interactions file, so the plan is built from purchases "
                        "alone; contact history would show the badgering check, quiet time after "
                        "complaints, channel costs and response rates, and repeat complainers.",
        "customer_records": "This client has no customer records, so consent is unknown and no "
                            "outbound contact can be planned; records with opt-ins per channel "
                            "would show who can be contacted and how.",
        "consent": "The customer records carry no consent, so no outbound contact can be "
                   "planned; opt-ins per channel would show a contact plan that respects them.",
    },
    "customize": {
        "products": "There is no product catalogue of at least a few products, so nothing can "
                    "be recommended or measured against a holdout; a catalogue would show "
                    "recommendations with their reasons, their precision against popularity, "
                    "and catalog editions.",
        "components": "There are no modular components, so the configurator has nothing to "
                      "configure; base products with options and rules would show it.",
        "customer_records": "This client has no customer records, so messages cannot be "
                            "addressed by name or region; customer exports would allow it.",
    },
    "readiness": {
        "customer_records": "This client has no customer records, so Identify's readiness "
                            "cannot be measured from the data; customer exports would give it a "
                            "score.",
        "interactions": "There is no interactions file, so Interact's readiness cannot be "
                        "measured from the data; contact history would give it a score.",
        "products": "There is no product catalogue, so Customize's readiness cannot be measured "
                    "from the data; a catalogue would give it a score.",
    },
}

_ORDER: dict[str, tuple[str, ...]] = {
    "identify": ("customer_records", "consent", "interactions"),
    "differentiate": ("transactions", "interactions", "products", "line_cost"),
    "interact": ("customer_records", "consent", "interactions"),
    "customize": ("products", "components", "customer_records"),
    "readiness": ("customer_records", "interactions", "products"),
}


def stage_gaps(ws: Workspace, stage: str) -> list[Gap]:
    """The inputs ``stage`` lacks in this workspace, each with its plain sentence.

    Consent is reported only when there are customer records (no records says it already);
    products count as present with at least two distinct product ids (a one-product
    placeholder catalogue cannot be recommended from).
    """
    if stage not in _SENTENCES:
        raise ValueError(f"unknown stage {stage!r}; expected one of {STAGES}")
    have = _inputs(ws)
    out = []
    for key in _ORDER[stage]:
        if have[key]:
            continue
        if key == "consent" and not have["customer_records"]:
            continue
        if key == "line_cost" and not have["transactions"]:
            continue
        if stage == "differentiate" and key != "transactions" and not have["transactions"]:
            continue
        out.append(Gap(stage, key, _SENTENCES[stage][key]))
    return out
