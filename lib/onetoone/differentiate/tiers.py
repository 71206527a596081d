"""Tiers: most valuable (MVC), most growable (MGC), below zero (BZ), maintain; and migrators.

Rules, in this order (a customer gets the first that applies):

1. **BZ**: contribution at or below ``tiers.bz_max_contribution`` (they cost more to serve
   than they bring; the first question is how to serve them more cheaply).
2. **MVC**: the top ``tiers.mvc_share`` of customers by actual value.
3. **MGC**: among the rest, the top ``tiers.mgc_share`` of customers by unrealised potential.
4. **maintain**: everybody else.

Thresholds are quantiles over all customers, computed once (``TierResult.thresholds``).
A **migrator** sits near a tier edge: its value is within ``migrator_band`` (relative) of
the MVC threshold, or its unrealised potential within the band of the MGC threshold, or its
contribution within the band (of the median absolute contribution) of the BZ line. The
edge it is near is named in ``migrator_edge`` (the tier it could move into or out of).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import Tiers

__all__ = ["FALLBACK_RULE", "TIERS", "TierResult", "assign_tiers", "fallback_tiers"]

TIERS = ("MVC", "MGC", "maintain", "BZ")
"""Tier labels, from most to least valuable."""


@dataclass
class TierResult:
    """Tier per customer and the thresholds used.

    Attributes
    ----------
    table : pandas.DataFrame
        On the input's index: ``tier``, ``migrator`` (bool), ``migrator_edge`` (MVC, MGC, BZ
        or empty).
    thresholds : dict
        ``mvc_value``, ``mgc_unrealised``, ``bz_contribution``, ``bz_band``.
    """

    table: pd.DataFrame
    thresholds: dict[str, float]

    def counts(self) -> pd.Series:
        """Customers per tier, in :data:`TIERS` order."""
        return self.table[C.TIER].value_counts().reindex(list(TIERS), fill_value=0)


def assign_tiers(
    customers: pd.DataFrame,
    tiers: Tiers | None = None,
    *,
    value_col: str = C.CLV,
    unrealised_col: str = C.UNREALISED_POTENTIAL,
    contribution_col: str = C.CONTRIBUTION,
) -> TierResult:
    """Assign MVC / MGC / BZ / maintain and flag migrators (see the module docstring)."""
    tiers = tiers or Tiers()
    missing = [c for c in (value_col, unrealised_col, contribution_col)
               if c not in customers.columns]
    if missing:
        raise KeyError(f"assign_tiers: expected column(s) {missing}; found {list(customers.columns)}")
    v = customers[value_col].astype(float).fillna(0.0)
    u = customers[unrealised_col].astype(float).fillna(0.0)
    c = customers[contribution_col].astype(float).fillna(0.0)
    n = len(customers)
    if n == 0:
        return TierResult(pd.DataFrame(columns=[C.TIER, C.MIGRATOR, C.MIGRATOR_EDGE]), {})
    mvc_thr = float(v.quantile(1 - tiers.mvc_share))
    bz = c <= tiers.bz_max_contribution
    mvc = ~bz & (v >= mvc_thr) & (v > 0)
    rest = ~bz & ~mvc
    # MGC: the top mgc_share of *all* customers by unrealised potential, taken from the rest
    k = round(tiers.mgc_share * n)
    ranked = u[rest].sort_values(ascending=False, kind="stable")
    mgc_idx = ranked.index[:k][ranked.iloc[:k] > 0] if k else ranked.index[:0]
    mgc = pd.Series(False, index=customers.index)
    mgc[mgc_idx] = True
    mgc_thr = float(ranked.iloc[min(k, len(ranked)) - 1]) if k and len(ranked) else float("inf")
    tier = np.select([bz, mvc, mgc], ["BZ", "MVC", "MGC"], default="maintain")
    band = tiers.migrator_band
    bz_scale = float(c.abs().median()) or 1.0
    near_mvc = (v - mvc_thr).abs() <= band * abs(mvc_thr) if mvc_thr > 0 else pd.Series(False, index=v.index)
    near_mgc = ((u - mgc_thr).abs() <= band * abs(mgc_thr)) if np.isfinite(mgc_thr) and mgc_thr > 0 \
        else pd.Series(False, index=v.index)
    near_bz = (c - tiers.bz_max_contribution).abs() <= band * bz_scale
    edge = np.select([near_mvc, near_bz, near_mgc & (tier != "MVC")], ["MVC", "BZ", "MGC"], default="")
    table = pd.DataFrame({C.TIER: tier, C.MIGRATOR: edge != "", C.MIGRATOR_EDGE: edge},
                         index=customers.index)
    return TierResult(table, {"mvc_value": mvc_thr, "mgc_unrealised": mgc_thr,
                              "bz_contribution": float(tiers.bz_max_contribution),
                              "bz_band": band * bz_scale})


FALLBACK_RULE = ("Differentiate has not run: tiers follow its rules with historical contribution "
                 "(margin - cost to serve) as the value and nobody MGC, since growability needs "
                 "the potential only Differentiate estimates")
"""The one fallback every later stage uses when ``customer_value`` is absent (see
:func:`fallback_tiers` and :func:`onetoone.differentiate.read.customer_tiers`)."""


def fallback_tiers(
    customers: pd.DataFrame,
    tiers: Tiers | None = None,
    *,
    contribution_col: str = C.CONTRIBUTION,
) -> TierResult:
    """Tiers when Differentiate has not run: :func:`assign_tiers` on historical value.

    The same rules and thresholds as the stage, with two differences: the value that ranks
    MVC is the customer's historical contribution (no lifetime value without the models), and
    nobody is MGC (unrealised potential is unknown). BZ is contribution at or below
    ``tiers.bz_max_contribution``, as in the stage. :data:`FALLBACK_RULE` says this in words.
    """
    unknown = pd.Series(0.0, index=customers.index)
    frame = pd.DataFrame({"__value": customers[contribution_col], "__unrealised": unknown,
                          "__contribution": customers[contribution_col]}, index=customers.index)
    return assign_tiers(frame, tiers, value_col="__value", unrealised_col="__unrealised",
                        contribution_col="__contribution")
