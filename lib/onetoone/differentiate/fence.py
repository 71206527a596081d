"""The picket fence: which customers to manage one by one, and what it costs and brings.

Customers are ranked on the value spectrum. Right of the fence (the k most valuable) each
customer is managed individually by a customer manager; left of it, business as usual.

:class:`PicketFence` sorts the values once and keeps their cumulative sums, so any fence
position is answered in O(1) (by rank or share of customers) or O(log n) (by value
threshold), fast enough for a slider over millions of customers.

Economics per position (from ``config.Fence``, every field overridable):

- customer managers = ceil(customers inside / portfolio_size)
- programme cost = managers x manager_cost + customers inside x it_cost_per_customer
- expected benefit = value inside x (retention_uplift + growth_uplift) / value_years
- net benefit = benefit - cost; ROI = net benefit / cost

Costs are yearly, so ``values`` should be yearly values (say last year's contribution); when
they cover several years (a 3-year CLV) pass ``value_years=3`` and the benefit is per year.
``value_name`` / ``value_label`` say what the values are (``contribution_12m``, ``clv``), so
every readout, chart and export can name it.

"The best fence" is one position everywhere: :meth:`PicketFence.best_rank` (highest yearly net
benefit, managers in whole people). :meth:`break_even`, the first half-year of
:meth:`projection` and :meth:`assign_managers` on it all agree.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from .. import columns as C
from ..config import Fence

__all__ = ["BreakEven", "FencePosition", "ManagerAssignment", "PicketFence"]


@dataclass(frozen=True)
class FencePosition:
    """What a fence at one position means. Money in the values' currency, per year."""

    customers: int  # inside the fence: the k most valuable
    customer_share: float  # customers / all customers
    threshold: float  # value of the least valuable customer inside (inf when nobody is)
    value_inside: float
    value_share: float  # value inside / net total value
    managers: int
    manager_cost: float  # managers x manager_cost
    it_cost: float  # customers x it_cost_per_customer
    cost: float
    benefit: float
    net_benefit: float
    roi: float  # net_benefit / cost; nan when cost is 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BreakEven:
    """Where the fence stops paying.

    Attributes
    ----------
    threshold : float
        Value at which one more customer's benefit equals its marginal cost
        (it_cost_per_customer + manager_cost / portfolio_size) / uplift.
    marginal : FencePosition
        The fence at that threshold: every customer inside pays for themselves.
    best : FencePosition
        The position with the highest net benefit (manager head count in whole people).
    widest : FencePosition
        The widest fence whose net benefit is still >= 0 (the whole programme pays, the last
        customers being carried by the first).
    """

    threshold: float
    marginal: FencePosition
    best: FencePosition
    widest: FencePosition


@dataclass
class ManagerAssignment:
    """Customers inside the fence, each with one customer manager.

    Attributes
    ----------
    customers : pandas.DataFrame
        customer id column, ``value``, ``value_basis`` (what ``value`` is, e.g.
        ``contribution_12m``), ``rank`` (1 = most valuable), ``manager``.
    portfolios : pandas.DataFrame
        Per manager: ``customers``, ``value``, ``value_share``.
    spread : float
        Highest portfolio value / lowest (1.0 = perfectly balanced).
    """

    customers: pd.DataFrame
    portfolios: pd.DataFrame
    spread: float
    method: str = field(default="lpt")


class PicketFence:
    """Answer any picket-fence position from per-customer values.

    Parameters
    ----------
    values : array-like or pandas.Series
        One value per customer (yearly, in the client currency). A Series' index gives the
        customer ids; otherwise pass ``ids`` (default 0..n-1).
    ids : array-like, optional
        Customer ids, aligned with ``values``.
    economics : config.Fence, optional
        Portfolio size, costs and uplifts; defaults to ``config.Fence()``.
    value_years : float
        Years the values cover (benefit is divided by it to be yearly like the costs).
    **overrides
        Any ``config.Fence`` field, e.g. ``portfolio_size=100``.

    Examples
    --------
    >>> fence = PicketFence(customer_value["contribution"], economics=cfg.fence)
    >>> fence.at_share(0.05).roi
    >>> fence.at_value(5000).customers
    """

    def __init__(
        self,
        values,
        ids=None,
        economics: Fence | None = None,
        *,
        value_years: float = 1.0,
        id_name: str | None = None,
        value_name: str = "value",
        value_label: str | None = None,
        **overrides,
    ):
        if isinstance(values, pd.Series):
            ids = values.index.to_numpy() if ids is None else np.asarray(ids)
            id_name = id_name or values.index.name
        v = np.asarray(values, dtype=float).ravel()
        if ids is None:
            ids = np.arange(v.size)
        ids = np.asarray(ids)
        if ids.shape != v.shape:
            raise ValueError(f"PicketFence: {v.size} values but {ids.size} ids")
        bad = ~np.isfinite(v)
        if bad.any():
            raise ValueError(
                f"PicketFence: {int(bad.sum())} customer(s) without a finite value "
                f"(first ids: {ids[bad][:5].tolist()}); give every customer a value "
                f"(0 if unknown) or leave them out explicitly"
            )
        if not value_years > 0:
            raise ValueError(f"value_years must be > 0; found {value_years}")
        order = np.argsort(-v, kind="stable")
        self.values_ = v[order]  # descending
        self.ids_ = ids[order]
        self.cumsum_ = np.concatenate([[0.0], np.cumsum(self.values_)])
        self._neg_values = -self.values_  # ascending, for searchsorted
        self.n = int(v.size)
        self.total_value = float(self.cumsum_[-1])
        self.id_name = id_name or C.CUSTOMER_ID
        self.value_years = float(value_years)
        self.value_name = str(value_name)
        self.value_label = value_label or self.value_name.replace("_", " ")
        self.economics = _economics(economics, overrides)

    # -- economics ------------------------------------------------------------------------
    def with_economics(self, **overrides) -> PicketFence:
        """A fence on the same customers with some economics changed (no re-sorting)."""
        other = object.__new__(PicketFence)
        other.__dict__.update(self.__dict__)
        years = overrides.pop("value_years", None)
        if years is not None:
            if not years > 0:
                raise ValueError(f"value_years must be > 0; found {years}")
            other.value_years = float(years)
        other.economics = _economics(self.economics, overrides)
        return other

    @property
    def uplift(self) -> float:
        """Yearly benefit per unit of value inside the fence."""
        e = self.economics
        return (e.retention_uplift + e.growth_uplift) / self.value_years

    @property
    def marginal_cost(self) -> float:
        """Yearly cost of one more managed customer: IT plus a share of a manager."""
        e = self.economics
        return e.it_cost_per_customer + e.manager_cost / e.portfolio_size

    # -- positions ------------------------------------------------------------------------
    def rank_at_value(self, threshold: float) -> int:
        """Customers whose value is at least ``threshold`` (O(log n))."""
        return int(np.searchsorted(self._neg_values, -float(threshold), side="right"))

    def rank_at_share(self, share: float) -> int:
        """Customers in the top ``share`` of customers (rounded to the nearest customer)."""
        if not 0 <= share <= 1:
            raise ValueError(f"share of customers must be between 0 and 1; found {share}")
        return round(share * self.n)

    def at_rank(self, k: int) -> FencePosition:
        """The fence with the ``k`` most valuable customers inside (O(1))."""
        k = int(k)
        if not 0 <= k <= self.n:
            raise ValueError(f"fence rank must be between 0 and {self.n:,} customers; found {k:,}")
        e = self.economics
        value = float(self.cumsum_[k])
        managers = -(-k // e.portfolio_size)
        mcost = managers * e.manager_cost
        itcost = k * e.it_cost_per_customer
        cost = mcost + itcost
        benefit = value * self.uplift
        net = benefit - cost
        return FencePosition(
            customers=k,
            customer_share=k / self.n if self.n else 0.0,
            threshold=float(self.values_[k - 1]) if k > 0 else math.inf,
            value_inside=value,
            value_share=value / self.total_value if self.total_value > 0 else math.nan,
            managers=int(managers),
            manager_cost=float(mcost),
            it_cost=float(itcost),
            cost=float(cost),
            benefit=float(benefit),
            net_benefit=float(net),
            roi=float(net / cost) if cost > 0 else math.nan,
        )

    def at_share(self, share: float) -> FencePosition:
        """The fence with the top ``share`` (0-1) of customers inside."""
        return self.at_rank(self.rank_at_share(share))

    def at_value(self, threshold: float) -> FencePosition:
        """The fence with every customer worth at least ``threshold`` inside (O(log n))."""
        return self.at_rank(self.rank_at_value(threshold))

    def curve(self, ranks=None, points: int = 400) -> pd.DataFrame:
        """Economics at many fence positions at once (vectorised), for charts.

        Parameters
        ----------
        ranks : array-like of int, optional
            Positions to evaluate; by default ``points`` positions spread over 0..n, denser
            among the most valuable customers.
        """
        if ranks is None:
            ranks = _chart_ranks(self.n, points)
        k = np.asarray(ranks, dtype=np.int64)
        if k.size and (k.min() < 0 or k.max() > self.n):
            raise ValueError(f"ranks must be between 0 and {self.n:,}")
        return self._frame(k, self.economics.it_cost_per_customer)

    def _frame(self, k: np.ndarray, it_cost: float) -> pd.DataFrame:
        e = self.economics
        value = self.cumsum_[k]
        managers = -(-k // e.portfolio_size)
        cost = managers * e.manager_cost + k * it_cost
        benefit = value * self.uplift
        with np.errstate(divide="ignore", invalid="ignore"):
            roi = np.where(cost > 0, (benefit - cost) / np.where(cost > 0, cost, 1), np.nan)
        return pd.DataFrame(
            {
                "customers": k,
                "customer_share": k / max(self.n, 1),
                "threshold": np.where(k > 0, self.values_[np.maximum(k - 1, 0)], np.inf),
                "value_inside": value,
                "value_share": value / self.total_value if self.total_value > 0 else np.nan,
                "managers": managers,
                "cost": cost,
                "benefit": benefit,
                "net_benefit": benefit - cost,
                "roi": roi,
            }
        )

    def inside(self, k: int) -> pd.DataFrame:
        """The ``k`` most valuable customers: id, value and rank (1 = most valuable)."""
        k = self.at_rank(k).customers
        return pd.DataFrame(
            {self.id_name: self.ids_[:k], "value": self.values_[:k], "rank": np.arange(1, k + 1)}
        )

    # -- where it pays ----------------------------------------------------------------------
    def break_even_threshold(self, it_cost_per_customer: float | None = None) -> float:
        """Value above which a managed customer's benefit covers its marginal cost."""
        e = self.economics
        it = e.it_cost_per_customer if it_cost_per_customer is None else it_cost_per_customer
        cost = it + e.manager_cost / e.portfolio_size
        return cost / self.uplift if self.uplift > 0 else math.inf

    def net_benefits(self, it_cost_per_customer: float | None = None) -> np.ndarray:
        """Yearly net benefit at every fence position 0..n (O(n), vectorised)."""
        e = self.economics
        it = e.it_cost_per_customer if it_cost_per_customer is None else it_cost_per_customer
        all_k = np.arange(self.n + 1)
        return (
            self.cumsum_ * self.uplift
            - all_k * it
            - (-(-all_k // e.portfolio_size)) * e.manager_cost
        )

    def best_rank(self, it_cost_per_customer: float | None = None) -> int:
        """Customers inside the best fence: the highest yearly net benefit (0 if none pays)."""
        return int(np.argmax(self.net_benefits(it_cost_per_customer)))

    def break_even(self) -> BreakEven:
        """The marginal break-even, the best and the widest paying fence (O(n) once)."""
        threshold = self.break_even_threshold()
        net = self.net_benefits()
        best = int(np.argmax(net))
        paying = np.flatnonzero(net[1:] >= 0)
        widest = int(paying[-1] + 1) if paying.size else 0
        return BreakEven(
            threshold=threshold,
            marginal=self.at_value(threshold),
            best=self.at_rank(best),
            widest=self.at_rank(widest),
        )

    def projection(
        self, years: float | None = None, halving_months: float | None = None, step_months: int = 6
    ) -> pd.DataFrame:
        """Move the fence as IT gets cheaper: one row per half-year (``step_months``).

        IT cost per customer halves every ``halving_months`` (config: 18). The value threshold
        at which individual treatment pays for itself is
        (it_cost(t) + manager_cost / portfolio_size) / uplift: its IT part halves with the IT
        cost (all of it when managers cost nothing), so more customers clear it. Each row's
        fence is the best fence at that IT cost (:meth:`best_rank`), so the first row is
        today's best fence, the same as :meth:`break_even` ``.best``. Customer values are held
        at today's.

        Returns
        -------
        pandas.DataFrame
            ``months``, ``it_cost_per_customer``, ``threshold``, ``customers``,
            ``customer_share``, ``value_inside``, ``value_share``, ``managers``, ``cost``,
            ``benefit``, ``net_benefit``, ``roi``.
        """
        e = self.economics
        years = e.projection_years if years is None else years
        halving = e.it_cost_halving_months if halving_months is None else halving_months
        if not (years > 0 and halving > 0 and step_months > 0):
            raise ValueError(
                f"years, halving_months and step_months must be > 0; found "
                f"{years}, {halving}, {step_months}"
            )
        months = np.arange(0, years * 12 + 1e-9, step_months)
        it = e.it_cost_per_customer * 0.5 ** (months / halving)
        thresholds = np.array([self.break_even_threshold(c) for c in it])
        k = np.array([self.best_rank(c) for c in it])
        rows = []
        for m, c, t, kk in zip(months, it, thresholds, k, strict=True):
            f = self._frame(np.array([kk]), c).iloc[0]
            rows.append(
                {
                    "months": int(m),
                    "it_cost_per_customer": float(c),
                    "threshold": t,
                    **{col: f[col] for col in f.index if col != "threshold"},
                }
            )
        out = pd.DataFrame(rows)
        out["customers"] = out["customers"].astype(int)
        out["managers"] = out["managers"].astype(int)
        return out

    # -- managers -------------------------------------------------------------------------
    def assign_managers(
        self, k: int, method: Literal["lpt", "snake"] = "lpt", prefix: str = "CM"
    ) -> ManagerAssignment:
        """Give each of the ``k`` most valuable customers a customer manager.

        ceil(k / portfolio_size) managers; no portfolio exceeds portfolio_size customers.

        Parameters
        ----------
        method : {"lpt", "snake"}
            "lpt" (default): greedy longest-processing-time, customers from the most valuable
            down each go to the manager with the least value who still has room; balances
            value closely. "snake": a snake draft (1..m, m..1, ...), balances the number of
            customers exactly and value roughly.
        prefix : str
            Managers are named ``{prefix}-001``, ``{prefix}-002``, ...
        """
        pos = self.at_rank(k)
        k = pos.customers
        if k == 0:
            raise ValueError(
                "assign_managers: the fence holds no customers; move it right of "
                "at least one customer"
            )
        cap = self.economics.portfolio_size
        m = pos.managers
        vals = self.values_[:k]
        if method == "snake":
            i = np.arange(k)
            rnd, j = np.divmod(i, m)
            who = np.where(rnd % 2 == 0, j, m - 1 - j)
        elif method == "lpt":
            who = np.empty(k, dtype=np.int64)
            heap = [(0.0, j) for j in range(m)]
            counts = np.zeros(m, dtype=np.int64)
            for i in range(k):
                load, j = heapq.heappop(heap)
                who[i] = j
                counts[j] += 1
                if counts[j] < cap:
                    heapq.heappush(heap, (load + float(vals[i]), j))
        else:
            raise ValueError(f"method must be 'lpt' or 'snake'; found {method!r}")
        width = max(3, len(str(m)))
        names = np.array([f"{prefix}-{j + 1:0{width}d}" for j in range(m)])
        customers = pd.DataFrame(
            {
                self.id_name: self.ids_[:k],
                "value": vals,
                "value_basis": self.value_name,
                "rank": np.arange(1, k + 1),
                C.MANAGER: names[who],
            }
        )
        load = np.bincount(who, weights=vals, minlength=m)
        count = np.bincount(who, minlength=m)
        portfolios = pd.DataFrame(
            {
                C.MANAGER: names,
                "customers": count,
                "value": load,
                "value_share": load / load.sum() if load.sum() else np.nan,
            }
        )
        lo = load.min()
        spread = float(load.max() / lo) if lo > 0 else math.inf
        return ManagerAssignment(
            customers=customers, portfolios=portfolios, spread=spread, method=method
        )

    def __repr__(self) -> str:
        return (
            f"PicketFence({self.n:,} customers, total value {self.total_value:,.0f}, "
            f"portfolio {self.economics.portfolio_size})"
        )


def _economics(base: Fence | None, overrides: dict) -> Fence:
    base = base if base is not None else Fence()
    if not overrides:
        return base
    unknown = sorted(set(overrides) - set(Fence.model_fields))
    if unknown:
        raise TypeError(
            f"unknown fence economics {unknown}; expected some of {sorted(Fence.model_fields)}"
        )
    return Fence.model_validate({**base.model_dump(), **overrides})


def _chart_ranks(n: int, points: int) -> np.ndarray:
    """Fence positions for a chart: half spread evenly, half geometric near the top."""
    if n <= points:
        return np.arange(n + 1)
    even = np.linspace(0, n, points // 2)
    geo = np.geomspace(1, n, points - points // 2)
    return np.unique(np.concatenate([[0], even, geo]).round().astype(np.int64))
