"""Recommendations from purchase history: item-item similarity on implicit feedback.

The customer x product matrix is built from an aggregated table (one row per customer and
product, counted inside DuckDB by :func:`purchase_pairs`), so only per-pair rows become pandas.

:class:`ItemKNN` weights the matrix (BM25 by default, as in Hu-Koren-style implicit
recommenders), takes the cosine similarity between product columns, keeps each product's
``neighbours`` most similar products, and scores every customer in chunks with one sparse
matrix product per chunk; top-k by ``argpartition``. Each suggestion carries a reason: the
owned product that contributes most to its score ("because you bought ...").

:class:`Popularity` is the baseline every evaluation compares against.

Already-owned products: a category counts as *consumable* (repeat purchases allowed) when the
share of customer-product pairs bought on two or more orders reaches ``repeat_threshold``
(:func:`repeat_categories`); owned products in every other (durable) category are excluded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ibis
import numpy as np
import pandas as pd
import scipy.sparse as sp

from .. import columns as C

__all__ = [
    "InteractionMatrix",
    "ItemKNN",
    "Popularity",
    "build_matrix",
    "purchase_pairs",
    "repeat_categories",
]

ORDERS = C.ORDERS
LAST_DATE = "last_date"
REASON_PRODUCT = C.REASON_PRODUCT_ID
REASON = "reason"
SCORE = "score"
RANK = "rank"


def purchase_pairs(t: ibis.Table, *, start=None, end=None, customer_id: str = C.CUSTOMER_ID,
                   product_id: str = C.PRODUCT_ID, date: str = C.DATE,
                   order_id: str = C.ORDER_ID, transaction_id: str = C.TRANSACTION_ID,
                   is_return: str = C.IS_RETURN, quantity: str = C.QUANTITY,
                   amount: str = C.AMOUNT) -> ibis.Table:
    """Customer x product purchase counts, aggregated inside the engine.

    Parameters
    ----------
    t : ibis.Table
        Transactions with a ``customer_id`` (see :func:`onetoone.customers.with_customer_id`).
    start, end : date-like, optional
        Keep purchases with ``start <= date < end``.

    Returns
    -------
    ibis.Table
        ``customer_id, product_id, orders`` (distinct orders that bought it), ``quantity``,
        ``amount`` and ``last_date``. Returns, anonymous rows and non-positive quantities are
        left out.
    """
    keep = t[customer_id].notnull() & t[product_id].notnull()
    if is_return in t.columns:
        keep &= ~t[is_return].fill_null(False)
    if quantity in t.columns:
        keep &= t[quantity].fill_null(1) > 0
    if start is not None:
        keep &= t[date] >= ibis.literal(pd.Timestamp(start).to_pydatetime())
    if end is not None:
        keep &= t[date] < ibis.literal(pd.Timestamp(end).to_pydatetime())
    t = t.filter(keep)
    key = t[order_id] if order_id in t.columns else t[transaction_id]
    key = ibis.coalesce(key, t[transaction_id]) if order_id in t.columns else key
    aggs = {ORDERS: key.nunique(), LAST_DATE: t[date].max()}
    if quantity in t.columns:
        aggs[C.QUANTITY] = t[quantity].fill_null(1).sum()
    if amount in t.columns:
        aggs[C.AMOUNT] = t[amount].sum()
    return t.group_by([customer_id, product_id]).aggregate(**aggs)


def repeat_categories(pairs: pd.DataFrame, products: pd.DataFrame | None, *,
                      threshold: float = 0.25, customer_id: str = C.CUSTOMER_ID,
                      product_id: str = C.PRODUCT_ID, category: str = C.CATEGORY) -> pd.DataFrame:
    """Per category: the share of customer-product pairs bought on two or more orders.

    Returns a DataFrame ``category, pairs, repeat_rate, consumable`` (consumable when
    ``repeat_rate >= threshold``), most repeated first. Without a product table every product
    is its own category ``"all"``.
    """
    df = pairs[[customer_id, product_id, ORDERS]]
    if products is not None and category in products.columns:
        df = df.merge(products[[product_id, category]], on=product_id, how="left")
        df[category] = df[category].fillna("(unknown)")
    else:
        df = df.assign(**{category: "all"})
    out = (df.assign(rep=df[ORDERS] > 1).groupby(category)
           .agg(pairs=("rep", "size"), repeat_rate=("rep", "mean")).reset_index())
    out["consumable"] = out["repeat_rate"] >= threshold
    return out.sort_values("repeat_rate", ascending=False, ignore_index=True)


@dataclass
class InteractionMatrix:
    """A sparse customers x products matrix with its row and column labels."""

    matrix: sp.csr_matrix
    customers: np.ndarray
    products: np.ndarray
    customer_index: dict = field(repr=False, default_factory=dict)
    product_index: dict = field(repr=False, default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        return self.matrix.shape

    @classmethod
    def empty(cls, products) -> InteractionMatrix:
        """No customers, the given product columns: what a model fitted in the engine keeps
        (its statistics came from :class:`.engine.EnginePairs`, not from a fetched matrix)."""
        prod = np.asarray(products, dtype=object)
        return cls(sp.csr_matrix((0, len(prod)), dtype=np.float32), np.array([], dtype=object),
                   prod, {}, {p: i for i, p in enumerate(prod)})

    def rows(self, customers) -> np.ndarray:
        """Row positions of the given customer ids (-1 when unknown)."""
        idx = self.customer_index
        return np.fromiter((idx.get(c, -1) for c in customers), dtype=np.int64,
                           count=len(customers))


def build_matrix(pairs: pd.DataFrame, *, products=None, value: str = ORDERS,
                 customer_id: str = C.CUSTOMER_ID, product_id: str = C.PRODUCT_ID
                 ) -> InteractionMatrix:
    """The customer x product matrix from :func:`purchase_pairs` rows.

    Parameters
    ----------
    pairs : DataFrame
        One row per customer and product with a count column ``value``.
    products : array-like, optional
        The product universe (column order); products outside it are dropped. Defaults to
        the products seen in ``pairs``.
    """
    if products is None:
        prod = np.sort(pairs[product_id].astype(str).unique())
    else:
        prod = np.asarray(pd.unique(pd.Series(products, dtype=str)))
    pidx = {p: i for i, p in enumerate(prod)}
    cols = pairs[product_id].astype(str).map(pidx)
    keep = cols.notna().to_numpy()
    cust_codes, custs = pd.factorize(pairs[customer_id].astype(str).to_numpy()[keep])
    vals = pairs[value].to_numpy(dtype=np.float32)[keep] if value in pairs else np.ones(keep.sum(),
                                                                                        np.float32)
    m = sp.csr_matrix((vals, (cust_codes, cols.to_numpy()[keep].astype(np.int64))),
                      shape=(len(custs), len(prod)), dtype=np.float32)
    m.sum_duplicates()
    custs = np.asarray(custs, dtype=object)
    return InteractionMatrix(m, custs, prod, {c: i for i, c in enumerate(custs)}, pidx)


def _bm25(x: sp.csr_matrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """BM25 weights of a customers x products count matrix (rows are 'documents')."""
    x = x.tocsr().astype(np.float32, copy=True)
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float32)
    idf = np.log(n / (1.0 + df)).clip(min=0) + 1e-3
    length = np.diff(x.indptr).astype(np.float32)
    avg = length.mean() if n else 1.0
    row_norm = np.repeat(k1 * (1.0 - b + b * length / max(avg, 1e-9)), np.diff(x.indptr))
    x.data = x.data * (k1 + 1.0) / (row_norm + x.data) * idf[x.indices]
    return x


def _tfidf(x: sp.csr_matrix) -> sp.csr_matrix:
    x = x.tocsr().astype(np.float32, copy=True)
    n = x.shape[0]
    df = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float32)
    idf = np.log(n / (1.0 + df)).clip(min=0) + 1e-3
    x.data = np.log1p(x.data) * idf[x.indices]
    return x


def _top_per_column(s: sp.csc_matrix, k: int) -> sp.csc_matrix:
    """Keep the ``k`` largest entries in each column of a CSC matrix (among equal values the
    lower row wins, as the engine's window in :meth:`.engine.EnginePairs.cosine_neighbours`)."""
    s = s.tocsc()
    s.sort_indices()
    counts = np.diff(s.indptr)
    if counts.max(initial=0) <= k:
        return s
    keep = np.ones(s.nnz, dtype=bool)
    for j in np.flatnonzero(counts > k):
        lo, hi = s.indptr[j], s.indptr[j + 1]
        order = np.lexsort((s.indices[lo:hi], -s.data[lo:hi]))
        keep[lo + order[k:]] = False
    rows = s.indices[keep]
    cols = np.repeat(np.arange(s.shape[1]), counts)[keep]
    return sp.csc_matrix((s.data[keep], (rows, cols)), shape=s.shape)


def _argmax_k(a: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the k largest entries per row, best first, by k vectorised argmax passes
    (``a`` is overwritten), and whether each pick is a real (finite) entry. Much faster than
    row-wise ``argpartition`` for small k."""
    rows = np.arange(a.shape[0])
    out = np.empty((a.shape[0], k), dtype=np.int64)
    valid = np.empty((a.shape[0], k), dtype=bool)
    for j in range(k):
        am = a.argmax(axis=1)
        out[:, j] = am
        valid[:, j] = a[rows, am] > -np.inf
        a[rows, am] = -np.inf
    return out, valid


def top_k_rows(scores: np.ndarray, k: int, block: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``k`` largest entries of each row, best first.

    Two-stage selection: split each row into blocks of ``block`` columns; the k largest
    entries lie in the k blocks with the largest maxima (an entry outside them is beaten by
    those k block maxima), so only ``k * block`` candidates per row are searched. Both stages
    use k vectorised argmax passes. Values are exact; among equal values the lower column wins.
    """
    n_r, n = scores.shape
    k = min(k, n)
    for b in range(block, 2 * block + 1):  # a block width dividing n avoids padding
        if n % b == 0:
            block = b
            break
    nb = -(-n // block)
    if nb <= k or n_r == 0:
        top, valid = _argmax_k(scores.astype(np.float32, copy=True), k)
    else:
        if nb * block != n:
            padded = np.full((n_r, nb * block), -np.inf, dtype=np.float32)
            padded[:, :n] = scores
        else:
            padded = scores.astype(np.float32, copy=False)
        blocks = padded.reshape(n_r, nb, block)
        topb, bvalid = _argmax_k(blocks.max(axis=2), k)
        order = np.argsort(topb, axis=1, kind="stable")  # column order keeps ties stable
        topb, bvalid = np.take_along_axis(topb, order, 1), np.take_along_axis(bvalid, order, 1)
        cand = np.take_along_axis(blocks, topb[:, :, None], axis=1).copy()
        cand[~bvalid] = -np.inf  # a repeated pick of an empty block adds nothing
        cand = cand.reshape(n_r, k * block)
        cidx = (topb[:, :, None] * block + np.arange(block)).reshape(n_r, k * block)
        pick, valid = _argmax_k(cand, k)
        top = np.minimum(np.take_along_axis(cidx, pick, 1), n - 1)
    values = np.take_along_axis(scores, top, 1).astype(np.float32)
    values[~valid] = -np.inf  # rows with fewer than k finite entries
    return top, values


class _Base:
    """Shared top-k machinery: exclusion of owned products, chunked scoring, output frame."""

    matrix_: InteractionMatrix
    repeat_ok_: np.ndarray  # bool per product: owned products stay eligible

    def _use(self, matrix: InteractionMatrix | None, engine) -> InteractionMatrix:
        """The matrix the model scores in numpy (an empty one when fitted for the engine only);
        its columns must be the engine's universe."""
        if matrix is None:
            if engine is None:
                raise ValueError("fit: give the customer x product matrix or engine pairs")
            return InteractionMatrix.empty(engine.products)
        if engine is not None and not np.array_equal(matrix.products.astype(str),
                                                     engine.products.astype(str)):
            raise ValueError("fit: the matrix's products are not the engine pairs' universe")
        return matrix

    def engine_parts(self):
        """``(prior, groups)`` for :func:`.engine.score_in_engine` (the popularity lists): the
        per-product prior (one row per group) and the customer -> group map or None."""
        raise NotImplementedError(f"{type(self).__name__} is not scored in the engine")

    def _exclusion_mask(self, repeat_products) -> np.ndarray:
        prods = self.matrix_.products
        if repeat_products is None:
            return np.zeros(len(prods), dtype=bool)
        if isinstance(repeat_products, str) and repeat_products == "all":
            return np.ones(len(prods), dtype=bool)
        rp = set(map(str, repeat_products))
        return np.fromiter((p in rp for p in prods), dtype=bool, count=len(prods))

    def _scores(self, x: sp.csr_matrix, rows: np.ndarray) -> np.ndarray:  # pragma: no cover
        raise NotImplementedError

    def _candidate_columns(self, x: sp.csr_matrix, rows: np.ndarray, k: int):
        """Columns that can hold a chunk's top k (None: all). Models whose ranking does not
        depend on the customer beyond what they own return a short list."""
        return None

    def _scores_on(self, x, rows, cols) -> np.ndarray:  # pragma: no cover - with the above
        return self._scores(x, rows)[:, cols]

    def fill_reasons(self, customers: np.ndarray, products: np.ndarray) -> np.ndarray:
        """The reason of each suggestion no owned product explains (a popularity fill);
        ``products`` are column positions in the matrix."""
        return np.full(len(customers), "popular with customers", dtype=object)

    def _reasons(self, x: sp.csr_matrix, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = top.size
        return np.full(n, -1, dtype=np.int64), np.zeros(n, dtype=np.float32)

    def recommend(self, customers=None, k: int = 10, *, chunk_size: int = 2000,
                  product_names: dict | None = None, customer_id: str = C.CUSTOMER_ID,
                  product_id: str = C.PRODUCT_ID) -> pd.DataFrame:
        """Top-``k`` products for each customer (all fitted customers by default).

        Customers the model has never seen (no purchase in the fitted matrix) are left out:
        there is no history to reason from (use :class:`Popularity` for them).

        Returns
        -------
        DataFrame
            ``customer_id, rank`` (1 = best), ``product_id, score, reason_product_id`` (the
            owned product contributing most; empty for a popularity fill) and ``reason``
            ("because you bought <name>" or "popular with customers").
        """
        m = self.matrix_
        rows = np.arange(m.shape[0]) if customers is None else m.rows(list(customers))
        known = rows >= 0
        rows = rows[known]
        cust = m.customers[rows] if customers is None else np.asarray(list(customers),
                                                                      dtype=object)[known]
        k = int(min(k, m.shape[1]))
        out_c, out_p, out_s, out_r, out_rank = [], [], [], [], []
        for lo in range(0, len(rows), chunk_size):
            r = rows[lo:lo + chunk_size]
            x = m.matrix[r]
            cols = self._candidate_columns(x, r, k)
            scores = self._scores(x, r) if cols is None else self._scores_on(x, r, cols)
            # durable products already owned are not suggested again
            xb = x.tocoo()
            block = ~self.repeat_ok_[xb.col]
            brow, bcol = xb.row[block], xb.col[block]
            if cols is not None:  # positions inside the candidate columns
                pos = np.full(m.shape[1], -1, dtype=np.int64)
                pos[cols] = np.arange(len(cols))
                keep = pos[bcol] >= 0
                brow, bcol = brow[keep], pos[bcol[keep]]
            scores[brow, bcol] = -np.inf
            top, ts = top_k_rows(scores, min(k, scores.shape[1]))
            if cols is not None:
                top = cols[top]
                if top.shape[1] < k:  # fewer candidates than k: pad with nothing
                    pad = k - top.shape[1]
                    top = np.hstack([top, np.zeros((len(top), pad), dtype=top.dtype)])
                    ts = np.hstack([ts, np.full((len(ts), pad), -np.inf, dtype=ts.dtype)])
            reason_idx, _ = self._reasons(x, top)
            out_c.append(np.repeat(cust[lo:lo + chunk_size], k))
            out_p.append(top.ravel())
            out_s.append(ts.ravel())
            out_r.append(reason_idx)
            out_rank.append(np.tile(np.arange(1, k + 1), len(r)))
        if not out_c:
            return pd.DataFrame({customer_id: pd.Series(dtype=str), RANK: pd.Series(dtype=int),
                                 product_id: pd.Series(dtype=str), SCORE: pd.Series(dtype=float),
                                 REASON_PRODUCT: pd.Series(dtype=str),
                                 REASON: pd.Series(dtype=str)})
        p = np.concatenate(out_p)
        s = np.concatenate(out_s).astype(float)
        ri = np.concatenate(out_r)
        df = pd.DataFrame({customer_id: np.concatenate(out_c), RANK: np.concatenate(out_rank),
                           product_id: m.products[p], SCORE: s})
        df = df[np.isfinite(s)].copy()
        ri = ri[np.isfinite(s)]
        reason_pid = np.where(ri >= 0, m.products[np.maximum(ri, 0)], None)
        df[REASON_PRODUCT] = reason_pid
        names = product_names or {}
        fill = self.fill_reasons(df[customer_id].to_numpy(), p[np.isfinite(s)])
        df[REASON] = [f"because you bought {names.get(q, q)}" if q is not None else f
                      for q, f in zip(reason_pid, fill)]
        return df.reset_index(drop=True)


class Popularity(_Base):
    """The baseline: the products bought by most customers, owned durables left out."""

    def fit(self, matrix: InteractionMatrix | None, repeat_products=None, *,
            engine=None) -> Popularity:
        """Customers per product, counted in the engine when ``engine`` (an
        :class:`.engine.EnginePairs`) is given, else from the matrix."""
        self.matrix_ = self._use(matrix, engine)
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        self.popularity_ = (engine.popularity() if engine is not None else np.bincount(
            matrix.matrix.indices, minlength=matrix.shape[1])).astype(np.float32)
        return self

    def engine_parts(self):
        return self.popularity_ / max(self.popularity_.max(), 1.0), None

    def _scores(self, x: sp.csr_matrix, rows=None) -> np.ndarray:
        return np.broadcast_to(self.popularity_ / max(self.popularity_.max(), 1.0),
                               (x.shape[0], x.shape[1])).copy()

    def _candidate_columns(self, x, rows, k):
        # the same ranking for everybody: the top k plus as many as a customer owns suffice
        if not hasattr(self, "order_"):
            self.order_ = np.argsort(-self.popularity_, kind="stable")
        n = k + int(np.diff(x.indptr).max(initial=0))
        return np.sort(self.order_[:n]) if n < len(self.order_) else None

    def _scores_on(self, x, rows, cols):
        return np.broadcast_to(self.popularity_[cols] / max(self.popularity_.max(), 1.0),
                               (x.shape[0], len(cols))).copy()


class ItemKNN(_Base):
    """Item-item cosine similarity on a weighted implicit-feedback matrix.

    Parameters
    ----------
    weighting : {"bm25", "tfidf", "none"}
        How purchase counts are weighted before the cosine (BM25 damps heavy buyers and
        ubiquitous products).
    neighbours : int
        Most similar products kept per product (sparsifies the similarity matrix).
    shrink : float
        Added to the cosine's denominator: pulls similarities built on few shared customers
        towards zero.
    popularity_prior : float
        Tiny popularity term added to every score, so customers with thin histories still get
        ``k`` suggestions (ties broken by popularity; such suggestions carry the reason
        "popular with customers").

    Attributes
    ----------
    similarity_ : scipy.sparse.csc_matrix
        products x products; column j holds j's neighbours.
    """

    def __init__(self, weighting: str = "bm25", neighbours: int = 200, shrink: float = 0.0,
                 popularity_prior: float = 1e-6, bm25_k1: float = 1.2, bm25_b: float = 0.75):
        if weighting not in ("bm25", "tfidf", "none"):
            raise ValueError(f"weighting: expected 'bm25', 'tfidf' or 'none', found {weighting!r}")
        if neighbours < 1:
            raise ValueError(f"neighbours: expected a positive integer, found {neighbours}")
        self.weighting, self.neighbours, self.shrink = weighting, neighbours, shrink
        self.popularity_prior, self.bm25_k1, self.bm25_b = popularity_prior, bm25_k1, bm25_b

    def fit(self, matrix: InteractionMatrix | None, repeat_products=None,
            column_chunk: int = 2000, *, engine=None) -> ItemKNN:
        """Compute the product-product similarity: in the engine when ``engine`` (an
        :class:`.engine.EnginePairs`) is given (weights, norms and the cosine self-join there,
        each product's neighbours fetched), else from the matrix in column chunks."""
        self.matrix_ = self._use(matrix, engine)
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        if engine is not None:
            self.similarity_ = engine.cosine_neighbours(
                self.weighting, self.neighbours, self.shrink, self.bm25_k1, self.bm25_b)
            self.similarity_csr_ = self.similarity_.tocsr()
            self.popularity_ = engine.popularity().astype(np.float32)
            return self
        x = matrix.matrix
        if self.weighting == "bm25":
            w = _bm25(x, self.bm25_k1, self.bm25_b)
        elif self.weighting == "tfidf":
            w = _tfidf(x)
        else:
            w = x.astype(np.float32)
        w = w.tocsc()
        norms = np.sqrt(np.asarray(w.multiply(w).sum(axis=0)).ravel()).astype(np.float32)
        inv = np.divide(1.0, norms + self.shrink, out=np.zeros_like(norms),
                        where=(norms + self.shrink) > 0)
        wn = (w @ sp.diags(inv)).tocsc()
        wt = wn.T.tocsr()
        parts = []
        for lo in range(0, x.shape[1], column_chunk):
            block = (wt @ wn[:, lo:lo + column_chunk]).tocsc()
            # no self-similarity
            coo = block.tocoo()
            keep = coo.row != coo.col + lo
            block = sp.csc_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])),
                                  shape=block.shape)
            parts.append(_top_per_column(block, self.neighbours))
        self.similarity_ = sp.hstack(parts, format="csc").astype(np.float32)
        self.similarity_csr_ = self.similarity_.tocsr()
        self.popularity_ = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float32)
        return self

    def _scores(self, x: sp.csr_matrix, rows=None) -> np.ndarray:
        xb = x.copy()
        xb.data[:] = 1.0
        s = (xb @ self.similarity_csr_).toarray()
        s += self.popularity_prior * (self.popularity_ / max(self.popularity_.max(), 1.0))
        return s

    def _reasons(self, x: sp.csr_matrix, top: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each (customer, suggested product): the owned product with the largest similarity.

        One sparse product for the whole chunk: row (customer, rank) of ``contrib`` holds the
        similarity of each owned product to the suggestion; its row argmax is the reason.
        """
        n_c, k = top.shape
        xb = x.copy()
        xb.data[:] = 1.0
        rows = xb[np.repeat(np.arange(n_c), k)]  # (customers*k) x products
        cols = self.similarity_[:, top.ravel()].T.tocsr()  # (customers*k) x products
        contrib = rows.multiply(cols).tocsr()
        contrib.eliminate_zeros()
        contrib.sort_indices()  # among equal similarities the lower product position wins
        reason = np.full(n_c * k, -1, dtype=np.int64)
        best = np.zeros(n_c * k, dtype=np.float32)
        counts = np.diff(contrib.indptr)
        nonempty = np.flatnonzero(counts)
        if len(nonempty):
            row_of = np.repeat(np.arange(contrib.shape[0]), counts)
            order = np.lexsort((-contrib.data, row_of))
            first = order[contrib.indptr[nonempty]]
            reason[nonempty] = contrib.indices[first]
            best[nonempty] = contrib.data[first]
        return reason, best
