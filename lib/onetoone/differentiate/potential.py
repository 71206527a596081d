"""Potential (strategic) value from look-alikes, share of wallet and unrealised potential.

What a customer *could* be worth is estimated from customers like them: a high percentile
(default the 80th) of actual value among the customers of the same needs segment and profile
(look-alikes). A client who knows each customer's wallet (spend in the category across all
suppliers) passes it instead (``wallet``).

- potential = max(actual, look-alike percentile): nobody is worth less than they already are.
- share_of_wallet = actual / potential, in [0, 1] (0 when the actual value is 0 or negative).
- unrealised_potential = potential - max(actual, 0).

Small look-alike groups are unreliable: a group with fewer than ``min_group`` customers falls
back to the coarser grouping (segment only), then to all customers. The grouping used per
customer is reported in ``potential_basis``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .. import columns as C

__all__ = ["potential_value", "tenure_band"]


def tenure_band(first_purchase: pd.Series, as_of, *, edges_years=(1, 2, 3)) -> pd.Series:
    """A coarse profile for look-alikes: years since the first purchase ("<1y", "1-2y", ...)."""
    end = pd.Timestamp(as_of)
    years = (end - pd.to_datetime(first_purchase)).dt.days / 365.25
    labels, lo = [], 0
    for e in edges_years:
        labels.append(f"<{e}y" if lo == 0 else f"{lo}-{e}y")
        lo = e
    labels.append(f"{lo}y+")
    bins = [-np.inf, *edges_years, np.inf]
    out = pd.cut(years, bins=bins, labels=labels, right=False).astype("string")
    return out.fillna("no purchase").rename("profile")


def potential_value(
    customers: pd.DataFrame,
    *,
    value_col: str = C.CLV,
    group_cols: Sequence[str] = (C.SEGMENT, "profile"),
    percentile: float = 0.8,
    min_group: int = 30,
    wallet: pd.Series | None = None,
) -> pd.DataFrame:
    """Potential value, share of wallet and unrealised potential per customer.

    Parameters
    ----------
    customers : pandas.DataFrame
        One row per customer with ``value_col`` and the ``group_cols``.
    value_col : str
        Actual value (default the lifetime value).
    group_cols : sequence of str
        Look-alike definition, finest first to coarsest last is *not* required: groups are
        tried as all columns, then all but the last, ..., then everybody.
    percentile : float
        Quantile of actual value within the look-alike group (0.5-1).
    min_group : int
        Fewest customers a look-alike group needs to be used.
    wallet : pandas.Series, optional
        A client-supplied wallet estimate per customer (same index); used where present.

    Returns
    -------
    pandas.DataFrame
        On the input's index: ``potential``, ``share_of_wallet``, ``unrealised_potential``,
        ``potential_basis``.
    """
    if not 0.5 <= percentile <= 1:
        raise ValueError(f"percentile must be between 0.5 and 1; found {percentile}")
    missing = [c for c in [value_col, *group_cols] if c not in customers.columns]
    if missing:
        raise KeyError(f"potential_value: expected column(s) {missing}; "
                       f"found {list(customers.columns)}")
    actual = customers[value_col].astype(float)
    if actual.isna().any():
        raise ValueError(f"potential_value: {int(actual.isna().sum())} customer(s) without "
                         f"{value_col!r}; give every customer a value (0 if none)")
    pot = pd.Series(np.nan, index=customers.index)
    basis = pd.Series(pd.NA, index=customers.index, dtype="string")
    cols = list(group_cols)
    while True:
        todo = pot.isna()
        if not todo.any():
            break
        if cols:
            g = customers.groupby(cols, dropna=False)[value_col]
            q = g.transform(lambda s: s.quantile(percentile))
            n = g.transform("size")
            ok = todo & (n >= min_group)
            label = " + ".join(cols)
        else:
            q = pd.Series(actual.quantile(percentile), index=customers.index)
            ok = todo
            label = "all customers"
        pot[ok] = q[ok]
        basis[ok] = label
        if not cols:
            break
        cols = cols[:-1]
    if wallet is not None:
        w = wallet.reindex(customers.index).astype(float)
        use = w.notna()
        pot[use] = w[use]
        basis[use] = "wallet"
    pot = np.maximum(pot, actual)
    pos = actual.clip(lower=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(pot > 0, pos / pot, 0.0)
    return pd.DataFrame({
        C.POTENTIAL: pot.astype(float),
        C.SHARE_OF_WALLET: np.clip(share, 0, 1),
        C.UNREALISED_POTENTIAL: (pot - pos).clip(lower=0).astype(float),
        C.POTENTIAL_BASIS: basis,
    }, index=customers.index)
