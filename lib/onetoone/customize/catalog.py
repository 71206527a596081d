"""Catalog editions: a ranked product list per region x needs segment, and what each buys.

An edition is the ``size`` products most often bought by the customers of one group (a
region and a needs segment); the national edition is the same over everybody. Coverage is the
share of customers' purchases (customer-product pairs, typically in a later window) whose
product is in the edition that customer receives. :func:`coverage_curve` adds editions one at
a time, greedily where each buys the most coverage over the national edition, so a client sees
how many editions are worth printing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .. import columns as C

__all__ = ["Editions", "build_editions", "coverage_curve", "edition_recommendation",
           "grouping_coverage", "knee"]

EDITION = "edition"
NATIONAL = "national"


@dataclass
class Editions:
    """Ranked product lists per group, plus the national edition.

    Attributes
    ----------
    lists : DataFrame
        ``edition, <group columns>, rank, product_id, buyers`` (national edition included,
        its group columns null).
    groups : tuple
        The grouping columns (e.g. ``("region", "segment_name")``).
    size : int
        Products per edition.
    """

    lists: pd.DataFrame
    groups: tuple
    size: int

    def edition_of(self, profile: pd.DataFrame) -> pd.Series:
        """The edition name each customer of ``profile`` falls in (by its group columns)."""
        return _edition_name(profile, self.groups)

    def products(self, edition: str) -> list:
        df = self.lists[self.lists[EDITION] == edition].sort_values("rank")
        return df[C.PRODUCT_ID].tolist()


def _edition_name(df: pd.DataFrame, groups) -> pd.Series:
    if not groups:
        return pd.Series(NATIONAL, index=df.index)
    out = df[groups[0]].astype(str)
    for g in groups[1:]:
        out = out + " | " + df[g].astype(str)
    return out


def build_editions(pairs: pd.DataFrame, profile: pd.DataFrame, *,
                   groups=(C.REGION, C.SEGMENT_NAME), size: int = 50, min_customers: int = 30,
                   customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID) -> Editions:
    """The ``size`` most-bought products (by distinct buyers) per group and nationally.

    Parameters
    ----------
    pairs : DataFrame
        ``customer_id, product_id`` purchases (one row per pair).
    profile : DataFrame
        ``customer_id`` and the ``groups`` columns.
    min_customers : int
        Groups with fewer buying customers get no edition of their own (national instead).
    """
    groups = tuple(groups)
    prof = profile[[customer_id, *groups]].copy()
    prof[customer_id] = prof[customer_id].astype(str)
    prof[EDITION] = _edition_name(prof, groups)
    p = pairs[[customer_id, product_id]].drop_duplicates().copy()
    p[customer_id] = p[customer_id].astype(str)
    p = p.merge(prof, on=customer_id, how="inner")
    out = []
    nat = p.groupby(product_id).size().sort_values(ascending=False, kind="stable").head(size)
    out.append(pd.DataFrame({EDITION: NATIONAL, "rank": range(1, len(nat) + 1),
                             product_id: nat.index, "buyers": nat.to_numpy()}))
    sizes = p.groupby(EDITION)[customer_id].nunique()
    for ed, g in p.groupby(EDITION, sort=True):
        if not groups or sizes[ed] < min_customers:
            continue
        top = g.groupby(product_id).size().sort_values(ascending=False, kind="stable").head(size)
        d = pd.DataFrame({EDITION: ed, "rank": range(1, len(top) + 1), product_id: top.index,
                          "buyers": top.to_numpy(), "customers": sizes[ed]})
        for c in groups:
            d[c] = g[c].iloc[0]
        out.append(d)
    lists = pd.concat(out, ignore_index=True)
    return Editions(lists, groups, size)


def _covered(editions: Editions, pairs: pd.DataFrame, profile: pd.DataFrame, own: set,
             customer_id: str, product_id: str) -> pd.DataFrame:
    prof = profile[[customer_id, *editions.groups]].copy()
    prof[customer_id] = prof[customer_id].astype(str)
    prof[EDITION] = editions.edition_of(prof)
    p = pairs[[customer_id, product_id]].drop_duplicates().copy()
    p[customer_id] = p[customer_id].astype(str)
    p = p.merge(prof[[customer_id, EDITION]], on=customer_id, how="left")
    p[EDITION] = p[EDITION].fillna(NATIONAL)
    return p


def coverage_curve(editions: Editions, pairs: pd.DataFrame, profile: pd.DataFrame, *,
                   customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID
                   ) -> pd.DataFrame:
    """Coverage for 1, 2, ... editions: the national one, then group editions by gain.

    Returns one row per number of editions: ``editions, added`` (the edition added at this
    step), ``gain`` and ``coverage`` (share of ``pairs`` whose product is in the customer's
    edition; customers of a group without an own edition get the national one).
    """
    p = _covered(editions, pairs, profile, set(), customer_id, product_id)
    lists = editions.lists
    in_nat = p[product_id].isin(set(lists.loc[lists[EDITION] == NATIONAL, product_id]))
    in_own = pd.Series(pd.MultiIndex.from_arrays([p[EDITION], p[product_id]]).isin(
        pd.MultiIndex.from_arrays([lists[EDITION], lists[product_id]])), index=p.index)
    total = max(len(p), 1)
    gains = ((in_own.astype(int) - in_nat.astype(int)).groupby(p[EDITION]).sum()
             .drop(NATIONAL, errors="ignore"))
    gains = gains[gains.index.isin(set(lists[EDITION]))].sort_values(ascending=False,
                                                                    kind="stable")
    cov = in_nat.sum() / total
    rows = [{"editions": 1, "added": NATIONAL, "gain": cov, "coverage": cov}]
    for i, (ed, g) in enumerate(gains.items(), start=2):
        if g <= 0:
            break
        cov += g / total
        rows.append({"editions": i, "added": ed, "gain": g / total, "coverage": cov})
    return pd.DataFrame(rows)


def grouping_coverage(train: pd.DataFrame, test: pd.DataFrame, profile: pd.DataFrame, *,
                      groupings: dict | None = None, size: int = 50, min_customers: int = 30,
                      customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID
                      ) -> pd.DataFrame:
    """Coverage of ``test`` purchases when editions are built on ``train`` by each grouping.

    Default groupings: national, by region, by needs segment, by region x segment.
    Returns ``grouping, editions, coverage``.
    """
    groupings = groupings or {"national": (), "by region": (C.REGION,),
                              "by needs segment": (C.SEGMENT_NAME,),
                              "by region x segment": (C.REGION, C.SEGMENT_NAME)}
    rows = []
    for name, cols in groupings.items():
        ed = build_editions(train, profile, groups=cols, size=size, min_customers=min_customers,
                            customer_id=customer_id, product_id=product_id)
        curve = coverage_curve(ed, test, profile, customer_id=customer_id,
                               product_id=product_id)
        rows.append({"grouping": name, "editions": int(ed.lists[EDITION].nunique()),
                     "coverage": float(curve["coverage"].iloc[-1])})
    return pd.DataFrame(rows)


def knee(curve: pd.DataFrame, *, x: str = "editions", y: str = "coverage") -> int:
    """The number of editions at the knee of the coverage curve.

    Both axes are scaled to 0..1 between the first and the last point; the knee is the point
    farthest above the straight line joining them (the Kneedle rule for a concave, rising
    curve): past it each further edition buys less than the average edition did. With fewer
    than three points the first point is the knee.
    """
    if len(curve) < 3:
        return int(curve[x].iloc[0]) if len(curve) else 1
    xs = curve[x].to_numpy(float)
    ys = curve[y].to_numpy(float)
    span_x, span_y = xs[-1] - xs[0], ys[-1] - ys[0]
    if span_x <= 0 or span_y <= 0:
        return int(xs[0])
    gap = (ys - ys[0]) / span_y - (xs - xs[0]) / span_x
    return int(xs[int(gap.argmax())])


def edition_recommendation(curve: pd.DataFrame, groupings: pd.DataFrame | None = None) -> dict:
    """The recommended number of editions (the knee) with the simpler groupings beside it.

    Returns ``editions`` and ``coverage`` at the knee, ``national`` and ``all_editions``
    coverage, ``by_segment`` and ``by_region`` (editions, coverage) when ``groupings``
    (from :func:`grouping_coverage`) has them, and a plain ``statement``.
    """
    n = knee(curve)
    cov = float(curve.loc[curve["editions"] == n, "coverage"].iloc[0])
    out = {"editions": n, "coverage": cov, "national": float(curve["coverage"].iloc[0]),
           "all_editions": float(curve["coverage"].iloc[-1]),
           "max_editions": int(curve["editions"].iloc[-1])}
    text = (f"Recommended: {n} edition{'s' * (n != 1)} (the knee of the curve, where another "
            f"edition starts to buy less than the average one), covering {cov:.1%} of holdout "
            f"purchases against {out['national']:.1%} for one national catalogue and "
            f"{out['all_editions']:.1%} for all {out['max_editions']}.")
    if groupings is not None:
        g = groupings.set_index("grouping")
        for key, label in (("by needs segment", "by_segment"), ("by region", "by_region")):
            if key in g.index:
                out[label] = (int(g.at[key, "editions"]), float(g.at[key, "coverage"]))
        beside = [f"{key} editions only: {int(g.at[key, 'editions'])} covering "
                  f"{g.at[key, 'coverage']:.1%}" for key in ("by needs segment", "by region")
                  if key in g.index]
        if beside:
            text += " Beside it, " + "; ".join(beside) + "."
        seg = out.get("by_segment")
        if seg and seg[0] <= n and seg[1] >= cov:
            text += (f" The {seg[0]} needs-segment editions cover as much with no more "
                     "editions: print those.")
    out["statement"] = text
    return out
