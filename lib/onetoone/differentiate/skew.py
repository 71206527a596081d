"""Value skew: how unequally value is spread over customers.

Conventions
-----------
Ranking
    :func:`lorenz` ranks customers **descending** by default (most valuable first), the way
    the picket fence reads: the curve at x = 0.2 is the share of value held by the top 20 %.
    ``order="ascending"`` gives the textbook Lorenz curve (poorest first, below the diagonal).
Negative values (money-losing customers)
    Value shares are shares of the **net total** (sum of all values, negatives included), so
    with money-losers the descending curve rises above 1 and falls back to 1 at the end: the
    "whale curve" of customer profitability (the top customers earn more than the whole
    profit; the rest gives some back). :func:`top_share` reads the same curve. A net total
    <= 0 has no shares and raises ``ValueError``.
    :func:`gini` by default counts negatives as 0 (``negatives="clip"``): the inequality of the
    value customers hold, in [0, 1). ``negatives="keep"`` applies the classic formula to net
    values (can exceed 1), ``negatives="error"`` refuses them.
Missing values
    NaN raises ``ValueError`` (a customer without a value is a data problem, not a zero).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["gini", "lorenz", "skew_summary", "top_share"]


def _values(values, where: str) -> np.ndarray:
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError(f"{where}: no values")
    nan = ~np.isfinite(v)
    if nan.any():
        first = np.flatnonzero(nan)[:5].tolist()
        if isinstance(values, pd.Series):
            first = values.index[first].tolist()
        raise ValueError(
            f"{where}: {int(nan.sum())} missing or infinite value(s) (first at "
            f"{first}); expected a finite value per customer"
        )
    return v


def lorenz(
    values, order: Literal["descending", "ascending"] = "descending"
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative share of customers and of value, customers ranked by value.

    Parameters
    ----------
    values : array-like or pandas.Series
        One value per customer.
    order : {"descending", "ascending"}
        "descending" (default): most valuable first, a concave curve above the diagonal;
        point (x, y) reads "the top x of customers hold y of the value".
        "ascending": the textbook Lorenz curve.

    Returns
    -------
    customer_share, value_share : numpy.ndarray
        Both of length n + 1, starting at (0, 0) and ending at (1, 1).
    """
    v = _values(values, "lorenz")
    total = v.sum()
    if not total > 0:
        raise ValueError(
            f"lorenz: the values sum to {total:,.2f}; value shares need a positive net total"
        )
    if order == "descending":
        v = -np.sort(-v)
    elif order == "ascending":
        v = np.sort(v)
    else:
        raise ValueError(f"order must be 'descending' or 'ascending'; found {order!r}")
    value_share = np.concatenate([[0.0], np.cumsum(v) / total])
    value_share[-1] = 1.0
    customer_share = np.arange(v.size + 1) / v.size
    return customer_share, value_share


def gini(values, negatives: Literal["clip", "keep", "error"] = "clip") -> float:
    """Gini coefficient of value: 0 when every customer is worth the same, near 1 when one is
    worth everything.

    G = sum_i sum_j |x_i - x_j| / (2 n^2 mean), computed in O(n log n) on sorted values.

    Parameters
    ----------
    values : array-like
    negatives : {"clip", "keep", "error"}
        How to treat money-losing customers; see the module docstring.
    """
    v = _values(values, "gini")
    if negatives == "clip":
        v = np.clip(v, 0, None)
    elif negatives == "error":
        if (v < 0).any():
            raise ValueError(
                f"gini: {int((v < 0).sum())} negative value(s); pass negatives='clip' or 'keep'"
            )
    elif negatives != "keep":
        raise ValueError(f"negatives must be 'clip', 'keep' or 'error'; found {negatives!r}")
    total = v.sum()
    if not total > 0:
        raise ValueError(
            f"gini: the values sum to {total:,.2f}; the Gini coefficient needs a positive total"
        )
    v = np.sort(v)
    n = v.size
    i = np.arange(1, n + 1)
    return float((2 * np.dot(i, v)) / (n * total) - (n + 1) / n)


def top_share(values, shares=(0.01, 0.05, 0.2)) -> pd.Series:
    """Share of the net total value held by the top ``shares`` of customers.

    Reads the descending :func:`lorenz` curve, interpolating between customers (so the top
    1 % of 150 customers is 1.5 customers' worth). With money-losers a top share can
    exceed 1.

    Returns
    -------
    pandas.Series
        Indexed by the customer shares asked for, values = share of value.
    """
    x, y = lorenz(values, "descending")
    s = np.atleast_1d(np.asarray(shares, dtype=float))
    if ((s < 0) | (s > 1)).any():
        raise ValueError(f"top_share: shares must be between 0 and 1; found {s.tolist()}")
    return pd.Series(
        np.interp(s, x, y), index=pd.Index(s, name="top_customers"), name="value_share"
    )


def skew_summary(values, shares=(0.01, 0.05, 0.2)) -> dict[str, float]:
    """Gini, top shares and the money-losers, as one dict for reports and the value/needs matrix.

    Keys: ``customers``, ``total_value``, ``gini``, ``top_1%`` ... (one per share),
    ``negative_customers``, ``negative_value``.
    """
    v = _values(values, "skew_summary")
    out: dict[str, float] = {
        "customers": float(v.size),
        "total_value": float(v.sum()),
        "gini": gini(v),
    }
    for s, y in top_share(v, shares).items():
        out[f"top_{s:.0%}"] = float(y)
    out["negative_customers"] = float((v < 0).sum())
    out["negative_value"] = float(v[v < 0].sum())
    return out
