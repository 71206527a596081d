"""Lists a workshop asks for: decliners, lost valuable customers, low share of wallet.

All take the ``customer_value`` frame (one row per customer) and return the customers on the
list, most important first, with the columns a consultant reads aloud.

- :func:`decliners`: last year's large customers who bought half as much or less this year
  but still buy ("visit them before a competitor does").
- :func:`lost_valuable`: customers who were valuable before and have not bought for 12 months
  ("call every one of them").
- :func:`low_share_high_potential`: customers who spend little with the client relative to
  what look-alikes spend (low share of wallet) while their unrealised potential is high.

"Large" is relative: the top ``top_share`` of customers who bought in the period, so the same
rule works for a client whose customers spend 50 a year or 50,000.
"""

from __future__ import annotations

import pandas as pd

from .. import columns as C

__all__ = ["decliners", "lost_valuable", "low_share_high_potential"]

_SHOW = ["customer_id", C.REVENUE_PREV_12M, C.REVENUE_12M, C.REVENUE_BEFORE_12M, C.CLV,
         C.P_ALIVE, C.LAST_PURCHASE, C.TIER, C.SEGMENT_NAME]


def _need(df: pd.DataFrame, cols, where: str) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise KeyError(f"{where}: expected column(s) {missing}; found {list(df.columns)}")


def _cols(df: pd.DataFrame, extra) -> list[str]:
    return [c for c in dict.fromkeys([*_SHOW[:1], *extra, *_SHOW[1:]]) if c in df.columns]


def decliners(
    cv: pd.DataFrame,
    *,
    top_share: float = 0.2,
    ratio: float = 0.5,
    include_lapsed: bool = False,
    prev_col: str = C.REVENUE_PREV_12M,
    cur_col: str = C.REVENUE_12M,
) -> pd.DataFrame:
    """Last year's large customers whose spend this year is at most ``ratio`` of last year's.

    Parameters
    ----------
    cv : pandas.DataFrame
        ``customer_value`` rows.
    top_share : float
        "Large last year" = among the top ``top_share`` of customers by last year's revenue
        (of those with a positive revenue then).
    ratio : float
        This year's revenue <= ratio x last year's.
    include_lapsed : bool
        Keep customers with no revenue at all this year (by default they belong to
        :func:`lost_valuable`, which asks for a different action).

    Returns
    -------
    pandas.DataFrame
        With ``drop`` (last year - this year) and ``change`` (this year / last year - 1),
        largest drop first.
    """
    _need(cv, [prev_col, cur_col], "decliners")
    prev, cur = cv[prev_col].astype(float), cv[cur_col].astype(float)
    pos = prev[prev > 0]
    if pos.empty:
        return cv.iloc[:0].assign(drop=[], change=[])
    thr = pos.quantile(1 - top_share)
    mask = (prev >= thr) & (prev > 0) & (cur <= ratio * prev)
    if not include_lapsed:
        mask &= cur > 0
    out = cv.loc[mask].assign(drop=(prev - cur)[mask], change=(cur / prev - 1)[mask])
    out = out.sort_values("drop", ascending=False, kind="stable")
    return out[_cols(out, [prev_col, cur_col, "drop", "change"])].reset_index(drop=True)


def lost_valuable(
    cv: pd.DataFrame,
    as_of,
    *,
    top_share: float = 0.2,
    months: int = 12,
    min_orders: int = 2,
    before_col: str = C.REVENUE_BEFORE_12M,
    last_col: str = C.LAST_PURCHASE,
    orders_col: str = C.ORDERS,
) -> pd.DataFrame:
    """Customers valuable before and without a purchase in the last ``months`` months.

    "Valuable before": revenue before the last 12 months in the top ``top_share`` of
    customers who bought then, with at least ``min_orders`` orders (a regular customer, not a
    single large purchase).
    """
    from .value import months_before

    _need(cv, [before_col, last_col, orders_col], "lost_valuable")
    before = cv[before_col].astype(float)
    pos = before[before > 0]
    if pos.empty:
        return cv.iloc[:0]
    thr = pos.quantile(1 - top_share)
    cut = pd.Timestamp(months_before(as_of, months))
    last = pd.to_datetime(cv[last_col])
    mask = (before >= thr) & (before > 0) & (last < cut) & (cv[orders_col] >= min_orders)
    out = cv.loc[mask].sort_values(before_col, ascending=False, kind="stable")
    return out[_cols(out, [before_col, last_col, orders_col])].reset_index(drop=True)


def low_share_high_potential(
    cv: pd.DataFrame,
    *,
    max_share: float = 0.25,
    top_share: float = 0.2,
    share_col: str = C.SHARE_OF_WALLET,
    unrealised_col: str = C.UNREALISED_POTENTIAL,
) -> pd.DataFrame:
    """Customers with a share of wallet <= ``max_share`` whose unrealised potential is in the
    top ``top_share`` of all customers; largest unrealised potential first."""
    _need(cv, [share_col, unrealised_col], "low_share_high_potential")
    u = cv[unrealised_col].astype(float)
    thr = u.quantile(1 - top_share)
    mask = (cv[share_col] <= max_share) & (u >= thr) & (u > 0)
    out = cv.loc[mask].sort_values(unrealised_col, ascending=False, kind="stable")
    return out[_cols(out, [share_col, C.POTENTIAL, unrealised_col])].reset_index(drop=True)
