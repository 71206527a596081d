"""What the stages after Differentiate read from it: each customer's tier and value.

One tier rule: Differentiate's (:func:`~.tiers.assign_tiers`), written to ``customer_value``.
Interact and Customize read it with :func:`customer_tiers`. When Differentiate has not run
(no ``customer_value`` in the workspace), they get the one documented fallback,
:func:`~.tiers.fallback_tiers` on :func:`fallback_values`, the same per-customer value summary
the stage itself uses (:func:`~.value.historical_value`: revenue, gross margin with the line
cost else quantity x unit cost, cost to serve, contribution).
"""

from __future__ import annotations

import pandas as pd

from .. import columns as C
from ..customers import with_customer_id
from ..workspace import Workspace
from .tiers import FALLBACK_RULE, TIERS, fallback_tiers
from .value import historical_value

__all__ = ["FALLBACK_RULE", "customer_tiers", "fallback_values"]

DIFFERENTIATE = "differentiate"
FALLBACK = "fallback"


def fallback_values(cfg, ws: Workspace) -> pd.DataFrame:
    """Historical value per customer with the fallback tier (Differentiate has not run).

    Columns: those of :func:`~.value.historical_value` plus ``tier``, ``migrator`` and
    ``migrator_edge``. Empty (with those columns) when there are no transactions.
    """
    if not ws.has("transactions"):
        return pd.DataFrame({C.CUSTOMER_ID: pd.Series([], dtype="str"),
                             C.TIER: pd.Series([], dtype="str")})
    tx = with_customer_id(ws, "transactions")
    it = with_customer_id(ws, "interactions") if ws.has("interactions") else None
    products = ws.table("products") if ws.has("products") else None
    value = historical_value(tx, it, products, as_of=cfg.as_of, channel_costs=cfg.channel_costs)
    tiers = fallback_tiers(value, cfg.tiers)
    out = value.join(tiers.table)
    out.attrs["notes"] = [*value.attrs.get("notes", []), FALLBACK_RULE]
    return out


def customer_tiers(cfg, ws: Workspace, columns: tuple[str, ...] = ()) -> tuple[pd.DataFrame, str]:
    """Each customer's tier (and the ``columns`` asked for), and where it came from.

    Returns ``(frame, source)``: ``customer_value``'s rows and ``"differentiate"`` when the
    stage has run, else :func:`fallback_values` and ``"fallback"``. ``frame`` has
    ``customer_id`` (str), ``tier`` and those of ``columns`` the source has.
    """
    if ws.has("customer_value"):
        t = ws.table("customer_value")
        if C.TIER not in t.columns:
            raise ValueError("table customer_value has no column 'tier'; expected the tiers "
                             f"{TIERS} written by `onetoone run differentiate`")
        keep = list(dict.fromkeys([C.CUSTOMER_ID, C.TIER, *[c for c in columns if c in t.columns]]))
        df = t.select(keep).to_pandas()
        source = DIFFERENTIATE
    else:
        fb = fallback_values(cfg, ws)
        keep = list(dict.fromkeys([C.CUSTOMER_ID, C.TIER, *[c for c in columns if c in fb.columns]]))
        df = fb[keep].copy()
        df.attrs["notes"] = fb.attrs.get("notes", [])
        source = FALLBACK
    df[C.CUSTOMER_ID] = df[C.CUSTOMER_ID].astype("str")
    return df, source
