"""Customize's co-occurrence counting and production scoring as Ibis expressions, on whichever
engine the workspace runs (DuckDB or Spark): only per-product, product x product and
per-customer results are fetched.

:class:`EnginePairs` wraps the customer x product purchase pairs (:func:`.recommend.purchase_pairs`,
an Ibis table, never fetched) restricted to the product universe, each product numbered by its
position in the universe (``pos``). From it, inside the engine:

- :meth:`EnginePairs.popularity`: customers per product (the popularity lists and every
  model's popularity prior);
- :meth:`EnginePairs.segment_counts`: customers per needs segment and product (popularity
  within segment); the customer -> segment map goes in as a memtable;
- :meth:`EnginePairs.cosine_neighbours`: ItemKNN's similarity. The per-customer BM25 / TF-IDF
  weights are computed per pair in the engine (customers' basket lengths, the average length
  and the customer count from the engine; the idf per product from the fetched counts), the
  column norms by a group-by, and the cosine by a self-join of the weighted pairs on the
  customer, grouped by product pair; each product's ``neighbours`` most similar products are
  kept with a window function (ties: the lower universe position), and only those rows come
  back;
- :meth:`EnginePairs.gram`: EASE's co-occurrence counts ``X'X`` of the binary matrix among the
  kept products (a self-join grouped by product pair, upper triangle only), fetched as a dense
  products x products array and inverted in numpy.

:func:`score_in_engine` ranks a popularity list (overall, or per needs segment) for every
customer inside the engine: the model's per-product prior (for popularity within segment the
customer's segment's list) joined with each customer, owned durables excluded as
:class:`.recommend._Base` does, ranked with ``row_number`` (score descending, lower universe
position first, as :func:`.recommend.top_k_rows` breaks ties). Only the top-k rows per customer
come back. :func:`score_on_spark` scores item-knn and EASE with their own numpy code on Spark's
executors.

Which paths still fetch the customer x product pairs, and why:

- the evaluation windows (validation and holdout fits' windows and the windows scored): the
  metrics need every evaluated customer's list and purchases, so the windows are fetched and
  every candidate is fitted and scored on them in numpy (counting the fetched windows again in
  the engine cost 31 s of local Spark's 57 s on a 3,000-person client and saved no driver
  memory); the repeat rule and the catalog editions are computed on the same fetched windows;
- ALS and BPR (matrix factorisation, not co-occurrence counting) fit on the fetched matrix,
  in evaluation and in production;
- production on DuckDB for item-knn and EASE: fitted from the engine's counts, scored in
  numpy on the fetched pairs up to ``as_of``. Ranking every customer against every product in
  SQL is dense for EASE: on the sample client (18,829 customers, 1,500 products) an engine
  ranking took 55 s and 10 GB resident against about 1 s in numpy, and item-knn 15 s and
  3.6 GB; on local Spark 53 s of the stage on a 3,000-person client. On Spark the same numpy
  code scores them on the executors (:func:`score_on_spark`: 11 s there, the same rows and
  scores as DuckDB's to the bit), so the pairs never reach the driver.

Numbers: the engine adds the popularity prior in float64, numpy in float32, so the two agree
to float32 rounding (about 1e-7 relative), not to the last bit.
"""

from __future__ import annotations

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import columns as C

__all__ = ["EnginePairs", "score_in_engine", "score_on_spark"]

CID = C.CUSTOMER_ID
PID = C.PRODUCT_ID


def _fetch(expr) -> pd.DataFrame:
    return expr.to_pandas()


class EnginePairs:
    """Purchase pairs in the engine, restricted to a product universe.

    Parameters
    ----------
    pairs : ibis.Table
        ``customer_id, product_id, orders`` (:func:`.recommend.purchase_pairs`).
    products : array-like, optional
        The product universe in column order (as :func:`.recommend.build_matrix` takes it);
        default: the sorted distinct products of ``pairs`` (fetched: one row per product).
    """

    def __init__(self, pairs: ibis.Table, products=None):
        p = pairs.mutate(**{CID: pairs[CID].cast("string"), PID: pairs[PID].cast("string")})
        if products is None:
            prods = _fetch(p.select(PID).distinct())[PID].astype(str).unique()
            self.products = np.sort(prods).astype(object)
        else:
            self.products = np.asarray(pd.unique(pd.Series(products, dtype=str)), dtype=object)
        self.universe = ibis.memtable(pd.DataFrame(
            {PID: self.products.astype(str),
             "pos": np.arange(len(self.products), dtype=np.int64)}))
        j = p.join(self.universe, PID)
        self.x = j.select(CID, "pos", orders=j[C.ORDERS].cast("float64"))
        self._pop: np.ndarray | None = None

    @property
    def n_products(self) -> int:
        return len(self.products)

    def _per_product(self, df: pd.DataFrame, col: str, dtype=np.float64) -> np.ndarray:
        out = np.zeros(self.n_products, dtype=dtype)
        out[df["pos"].to_numpy(np.int64)] = df[col].to_numpy(dtype)
        return out

    def popularity(self) -> np.ndarray:
        """Customers who bought each product (int64, universe order)."""
        if self._pop is None:
            df = _fetch(self.x.group_by("pos").aggregate(n=ibis._.count()))
            self._pop = self._per_product(df, "n", np.int64)
        return self._pop

    def customers(self) -> pd.Series:
        """The customers with a purchase in the universe (fetched: one row per customer)."""
        return _fetch(self.x.select(CID).distinct())[CID].astype(str)

    def segment_counts(self, segment_of: dict, min_customers: int) -> tuple[list, np.ndarray]:
        """Customers per (segment, product) for segments with at least ``min_customers``
        buying customers; returns ``(labels, counts)`` with ``counts`` labels x products."""
        if not segment_of:
            return [], np.zeros((0, self.n_products), dtype=np.int64)
        seg = pd.DataFrame({CID: list(map(str, segment_of)),
                            "segment": pd.Series(list(segment_of.values())).astype(str)})
        seg = seg[pd.Series(list(segment_of.values())).notna().to_numpy()]
        st = ibis.memtable(seg)
        j = self.x.join(st, CID)
        size = _fetch(j.group_by("segment").aggregate(n=j[CID].nunique()))
        labels = sorted(size.loc[size["n"] >= min_customers, "segment"].astype(str))
        if not labels:
            return [], np.zeros((0, self.n_products), dtype=np.int64)
        df = _fetch(j.filter(j.segment.isin(labels)).group_by(["segment", "pos"])
                    .aggregate(n=ibis._.count()))
        code = {s: i for i, s in enumerate(labels)}
        counts = np.zeros((len(labels), self.n_products), dtype=np.int64)
        counts[df["segment"].astype(str).map(code).to_numpy(np.int64),
               df["pos"].to_numpy(np.int64)] = df["n"].to_numpy(np.int64)
        return labels, counts

    def weights(self, weighting: str = "bm25", k1: float = 1.2, b: float = 0.75) -> ibis.Table:
        """``customer_id, pos, w``: the pair weights ItemKNN takes the cosine of (BM25 as in
        :func:`.recommend._bm25`, TF-IDF as in :func:`.recommend._tfidf`, or the counts)."""
        x = self.x
        if weighting == "none":
            return x.select(CID, "pos", w=x.orders)
        pop = self.popularity().astype(np.float64)
        n = float(_fetch(x.select(CID).distinct().count().name("n").as_table())["n"].iat[0])
        idf = np.clip(np.log(n / (1.0 + pop)), 0, None) + 1e-3
        it = ibis.memtable(pd.DataFrame({"pos": np.arange(self.n_products, dtype=np.int64),
                                         "idf": idf}))
        xi = x.join(it, "pos")
        if weighting == "tfidf":
            return xi.select(CID, "pos", w=(xi.orders + 1.0).ln() * xi.idf)
        length = x.group_by(CID).aggregate(length=ibis._.count().cast("float64"))
        avg = float(_fetch(length.aggregate(avg=length.length.mean()))["avg"].iat[0])
        xl = xi.join(length, CID)
        norm = k1 * (1.0 - b + b * xl.length / max(avg, 1e-9))
        return xl.select(CID, "pos", w=xl.orders * (k1 + 1.0) / (norm + xl.orders) * xl.idf)

    def cosine_neighbours(self, weighting: str = "bm25", neighbours: int = 200,
                          shrink: float = 0.0, k1: float = 1.2, b: float = 0.75, *,
                          cells: int = 4_000_000) -> sp.csc_matrix:
        """ItemKNN's similarity: products x products, column j holding j's ``neighbours``
        most similar products (cosine of the weighted columns, no self-similarity).

        The self-join runs for a range of columns at a time, at most ``cells`` product pairs
        per query (so the engine's group-by stays bounded, as the numpy fit's column chunks)."""
        w = self.weights(weighting, k1, b)
        norms = np.sqrt(self._per_product(
            _fetch(w.group_by("pos").aggregate(ss=(w.w * w.w).sum())), "ss"))
        den = norms + shrink
        inv = np.divide(1.0, den, out=np.zeros_like(den), where=den > 0)
        nt = ibis.memtable(pd.DataFrame({"pos": np.arange(self.n_products, dtype=np.int64),
                                         "inv": inv}))
        wj = w.join(nt, "pos")
        wn = wj.select(CID, "pos", v=wj.w * wj.inv)
        left = wn.select(ca=wn[CID], a=wn.pos, va=wn.v)
        n = self.n_products
        step = max(1, cells // max(n, 1))
        parts = []
        for lo in range(0, n, step):
            right = wn.filter((wn.pos >= lo) & (wn.pos < lo + step))
            right = right.select(cb=right[CID], b=right.pos, vb=right.v)
            pair = left.join(right, left.ca == right.cb).filter(ibis._.a != ibis._.b)
            sim = pair.group_by(["a", "b"]).aggregate(sim=(pair.va * pair.vb).sum())
            rank = ibis.row_number().over(group_by=sim.b, order_by=[sim.sim.desc(), sim.a])
            parts.append(_fetch(sim.mutate(r=rank).filter(ibis._.r < neighbours)
                                .select("a", "b", "sim")))
        df = pd.concat(parts, ignore_index=True)
        return sp.csc_matrix((df["sim"].to_numpy(np.float64).astype(np.float32),
                              (df["a"].to_numpy(np.int64), df["b"].to_numpy(np.int64))),
                             shape=(n, n))

    def gram(self, keep: np.ndarray) -> np.ndarray:
        """``X'X`` of the binary matrix among the products at positions ``keep`` (dense,
        float64, in the order of ``keep``): co-occurrence counts by a self-join."""
        kt = ibis.memtable(pd.DataFrame({"pos": np.asarray(keep, dtype=np.int64),
                                         "i": np.arange(len(keep), dtype=np.int64)}))
        xk = self.x.join(kt, "pos").select(CID, "i")
        left = xk.select(ca=xk[CID], a=xk.i)
        right = xk.select(cb=xk[CID], b=xk.i)
        pair = left.join(right, left.ca == right.cb).filter(ibis._.a <= ibis._.b)
        df = _fetch(pair.group_by(["a", "b"]).aggregate(n=ibis._.count()))
        g = np.zeros((len(keep), len(keep)), dtype=np.float64)
        a, bb, v = df["a"].to_numpy(np.int64), df["b"].to_numpy(np.int64), df["n"].to_numpy(float)
        g[a, bb] = v
        g[bb, a] = v
        return g


def _rank(sc: ibis.Table, k: int) -> ibis.Table:
    """The ``k`` best ``(c, j, score)`` rows per customer, ``rank`` 1 = best; among equal
    scores the lower product position first (as :func:`.recommend.top_k_rows`)."""
    rank = ibis.row_number().over(group_by=sc.c, order_by=[sc.score.desc(), sc.j])
    return sc.mutate(rank=rank + 1).filter(ibis._.rank <= k).select("c", "rank", "j", "score")


def score_in_engine(model, source: EnginePairs, k: int = 10) -> pd.DataFrame:
    """Top-``k`` of a popularity model (fitted with ``engine=source``, :meth:`engine_parts`)
    for every customer of ``source``, ranked in the engine: each customer's group's prior list,
    as far down as k plus the customer's excluded products, with owned durables removed. Only
    the top-k rows come back.

    Returns the frame :meth:`.recommend._Base.recommend` returns (``customer_id, rank,
    product_id, score, reason_product_id, reason``), sorted by customer and rank.
    """
    prior, groups = model.engine_parts()
    n = source.n_products
    k = int(min(k, n))
    x = source.x
    owned = x.select(c=x[CID], a=x.pos)
    ok = ibis.memtable(pd.DataFrame({"pos": np.arange(n, dtype=np.int64),
                                     "ok": np.asarray(model.repeat_ok_, dtype=bool)}))
    oj = owned.join(ok, owned.a == ok.pos)
    excl = oj.filter(~oj.ok).select(c=oj.c, j=oj.a)
    # per-group prior and its order (score descending, lower position first)
    prior = np.atleast_2d(prior)
    rows = []
    for g, row in enumerate(prior):
        order = np.lexsort((np.arange(n), -row.astype(np.float64)))
        prank = np.empty(n, dtype=np.int64)
        prank[order] = np.arange(n)
        rows.append(pd.DataFrame({"g": g, "pos": np.arange(n, dtype=np.int64),
                                  "prior": row.astype(np.float64), "prank": prank}))
    pt = ibis.memtable(pd.concat(rows, ignore_index=True))
    cust = owned.group_by("c").aggregate(n_own=ibis._.count())
    ne = excl.group_by("c").aggregate(n_ex=ibis._.count())
    cust = cust.left_join(ne, cust.c == ne.c).select(cust.c, n_ex=ibis.coalesce(ne.n_ex, 0))
    if groups is not None:
        gt = ibis.memtable(groups.astype({CID: str, "g": np.int64}))
        cust = cust.left_join(gt, cust.c == gt[CID]).select(
            cust.c, cust.n_ex, g=ibis.coalesce(gt.g, 0))
    else:
        cust = cust.mutate(g=ibis.literal(0, "int64"))
    # the prior's best k + n_ex products of the customer's group, less the excluded ones
    who = cust.mutate(need=k + cust.n_ex)
    f = who.join(pt, [who.g == pt.g, pt.prank < who.need])
    cand = f.select(c=f.c, j=f.pos, score=f.prior)
    ex = excl.view()  # excl and cand both come from the owned pairs
    cand = cand.anti_join(ex, [cand.c == ex.c, cand.j == ex.j])
    df = _fetch(_rank(cand, k)).astype({"c": str})
    df = df.sort_values(["c", "rank"], kind="stable", ignore_index=True)
    pos = df["j"].to_numpy(np.int64)
    out = pd.DataFrame({CID: df["c"].to_numpy(dtype=object),
                        "rank": df["rank"].to_numpy(np.int64), PID: source.products[pos],
                        "score": df["score"].to_numpy(np.float64)})
    out[C.REASON_PRODUCT_ID] = None
    out["reason"] = model.fill_reasons(out[CID].to_numpy(), pos)
    return out


def score_on_spark(model, ws, source: EnginePairs, k: int = 10, *,
                   product_names: dict | None = None, pairs_per_task: int = 200_000
                   ) -> pd.DataFrame:
    """Top-``k`` suggestions with reasons for every customer of ``source``, scored on Spark's
    executors by the model's own numpy code (:meth:`.recommend._Base.recommend`); Spark's
    side of what DuckDB does on the driver with the fetched pairs (``pipeline.py``).

    For item-knn and EASE, fitted from the engine's counts (``engine=source``): their scores
    depend only on what each customer owns, so each task builds the matrix of its own
    customers (about ``pairs_per_task`` purchase pairs, customers split by a hash of their
    id) and scores them against the model, which every executor gets once (a broadcast).
    Ranking a dense model such as EASE in Spark SQL instead (:func:`score_in_engine`) joins
    every owned product with every product: on a 3,000-person client it took 53 s of local
    Spark (this: 11 s, Python workers' start included). The pairs never reach the driver;
    the top-k rows do.
    """
    import copy

    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    from .recommend import build_matrix

    products = source.products
    names = dict(product_names or {})
    k = int(min(k, source.n_products))
    n_pairs = int(source.popularity().sum())
    spark = ws.spark
    tasks = max(spark.sparkContext.defaultParallelism, -(-n_pairs // pairs_per_task))
    fitted = spark.sparkContext.broadcast(model)
    cols = [CID, "rank", PID, "score", C.REASON_PRODUCT_ID, "reason"]
    schema = T.StructType([T.StructField(CID, T.StringType()), T.StructField("rank", T.LongType()),
                           T.StructField(PID, T.StringType()),
                           T.StructField("score", T.DoubleType()),
                           T.StructField(C.REASON_PRODUCT_ID, T.StringType()),
                           T.StructField("reason", T.StringType())])

    def score(pdf: pd.DataFrame) -> pd.DataFrame:
        pdf = pdf.assign(**{PID: products[pdf["pos"].to_numpy(np.int64)]})
        one = copy.copy(fitted.value)
        one.matrix_ = build_matrix(pdf, products=products)
        out = one.recommend(k=k, product_names=names)
        return out[cols].astype({CID: str, "rank": np.int64, "score": np.float64})

    sdf = ws.frame(source.x)
    got = (sdf.groupBy((F.abs(F.xxhash64(CID)) % tasks).alias("task"))
           .applyInPandas(lambda key, pdf: score(pdf), schema).toPandas())
    fitted.unpersist()
    return got.sort_values([CID, "rank"], kind="stable", ignore_index=True)
