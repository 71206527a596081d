"""More candidate recommenders beside item-kNN and popularity (:mod:`.recommend`).

- :class:`SegmentPopularity`: the bestsellers of the customer's needs segment (Differentiate's
  ``customer_value.segment``); the reason is "popular in your segment (<name>)".
- :class:`Ease`: EASE (Steck 2019), a closed-form item-item model: with the binary customers x
  products matrix X, ``P = (X'X + lambda I)^-1`` and ``B = I - P / diag(P)`` (column-wise, so
  the diagonal is zero); a customer's scores are ``x B``. One regularised Gram-matrix inverse;
  the ``max_products`` most bought products take part (the inverse is cubic in them), the
  rest are scored by popularity only.
- :class:`ImplicitALS` and :class:`ImplicitBPR`: matrix factorisation from the ``implicit``
  library (alternating least squares on BM25-weighted counts; Bayesian personalised ranking).

Every model gives each suggestion a reason: the owned product that contributes most (for
EASE its weight ``B[owned, suggested]``; for the factor models the owned product whose item
factors are closest to the suggestion's), or a popularity reason when nothing owned explains it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp

from .recommend import InteractionMatrix, _Base, _bm25

__all__ = ["Ease", "ImplicitALS", "ImplicitBPR", "SegmentPopularity", "dense_reasons"]


def _binary(x: sp.csr_matrix) -> sp.csr_matrix:
    xb = x.tocsr().astype(np.float32, copy=True)
    xb.data[:] = 1.0
    return xb


def dense_reasons(x: sp.csr_matrix, top: np.ndarray, weight) -> tuple[np.ndarray, np.ndarray]:
    """For each (customer, suggestion): the owned product with the largest positive weight.

    ``weight(owned, suggested)`` takes two equal-length arrays of product positions and returns
    the weight of each pair (e.g. an EASE coefficient). Returns ``(reason position or -1,
    weight)`` flattened in (customer, rank) order.
    """
    x = x.tocsr()
    n_c, k = top.shape
    reason = np.full(n_c * k, -1, dtype=np.int64)
    best = np.zeros(n_c * k, dtype=np.float32)
    counts = np.diff(x.indptr)
    if not x.nnz or not k:
        return reason, best
    # pairs ordered by (customer, rank, owned product): each group is one suggestion
    size = np.repeat(counts, k)  # owned products per (customer, rank)
    pair_row = np.repeat(np.arange(n_c * k), size)
    group_start = np.cumsum(size) - size
    offset = np.arange(len(pair_row)) - np.repeat(group_start, size)
    owned = x.indices[np.repeat(np.repeat(x.indptr[:-1], k), size) + offset]
    sugg = top.ravel()[pair_row]
    w = np.asarray(weight(owned, sugg), dtype=np.float32)
    w[owned == sugg] = -np.inf
    nonempty = np.flatnonzero(size)
    gmax = np.maximum.reduceat(w, group_start[nonempty])
    full = np.full(n_c * k, -np.inf, dtype=np.float32)
    full[nonempty] = gmax
    hit = (w == full[pair_row]) & (w > 0)
    rows, first = np.unique(pair_row[hit], return_index=True)
    reason[rows] = owned[hit][first]
    best[rows] = w[hit][first]
    return reason, best


class SegmentPopularity(_Base):
    """The products bought by most customers of the customer's needs segment.

    Parameters
    ----------
    segment_of : dict
        customer_id -> segment; customers without one get the overall bestsellers.
    segment_names : dict, optional
        segment -> name, for the reason.
    min_customers : int
        A segment with fewer buying customers uses the overall list.
    """

    def __init__(self, segment_of: dict | None = None, segment_names: dict | None = None,
                 min_customers: int = 30):
        self.segment_of = {str(k): v for k, v in (segment_of or {}).items()}
        self.segment_names = segment_names or {}
        self.min_customers = min_customers

    def fit(self, matrix: InteractionMatrix | None, repeat_products=None, *,
            engine=None) -> SegmentPopularity:
        """Customers per segment and product: counted in the engine when ``engine`` (an
        :class:`.engine.EnginePairs`) is given, else from the matrix (the same float32 lists
        either way: the counts are integers)."""
        self.matrix_ = self._use(matrix, engine)
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        if engine is not None:
            orig = {str(v): v for v in self.segment_of.values()}
            labels, seg_counts = engine.segment_counts(self.segment_of, self.min_customers)
            total = engine.popularity().astype(np.float32)
            per = [(orig[s], seg_counts[i].astype(np.float32)) for i, s in enumerate(labels)]
        else:
            x = _binary(matrix.matrix)
            total = np.asarray(x.sum(axis=0)).ravel()
            segs = np.array([self.segment_of.get(str(c)) for c in matrix.customers],
                            dtype=object)
            per = []
            for s in (s for s in dict.fromkeys(segs.tolist()) if s is not None):
                rows = np.flatnonzero(segs == s)
                if len(rows) >= self.min_customers:
                    per.append((s, np.asarray(x[rows].sum(axis=0)).ravel()))
        overall = total / max(total.max(), 1.0)
        table, counts_all = [overall], [total]
        self.labels_ = [None]  # code 0 = the overall list
        for s, counts in per:
            table.append(counts / max(counts.max(), 1.0) + 1e-3 * overall)
            counts_all.append(counts)
            self.labels_.append(s)
        self.table_ = np.vstack(table).astype(np.float32)
        self.counts_ = np.vstack(counts_all)
        self.label_code_ = {s: i for i, s in enumerate(self.labels_) if i}
        self.code_ = self._codes(self.matrix_.customers)
        return self

    def _codes(self, customers) -> np.ndarray:
        """The list each customer gets: its segment's (1..) or the overall one (0)."""
        seg, code = self.segment_of, self.label_code_
        return np.fromiter((code.get(seg.get(str(c)), 0) for c in customers), dtype=np.int64,
                           count=len(customers))

    def engine_parts(self):
        groups = pd.DataFrame({"customer_id": list(self.segment_of),
                               "g": self._codes(list(self.segment_of))})
        return self.table_, groups[groups["g"] > 0]

    def _scores(self, x: sp.csr_matrix, rows) -> np.ndarray:
        return self.table_[self.code_[rows]].copy()

    def _candidate_columns(self, x, rows, k):
        # one ranking per segment: each chunk segment's top k plus as many as a customer owns
        if not hasattr(self, "order_"):
            self.order_ = np.argsort(-self.table_, axis=1, kind="stable")
        n = k + int(np.diff(x.indptr).max(initial=0))
        if n >= self.table_.shape[1]:
            return None
        cols = np.unique(self.order_[np.unique(self.code_[rows])][:, :n])
        return cols if len(cols) < self.table_.shape[1] else None

    def _scores_on(self, x, rows, cols):
        return self.table_[self.code_[rows]][:, cols]

    def fill_reasons(self, customers: np.ndarray, products: np.ndarray) -> np.ndarray:
        """"popular in your segment (<name>)" when the customer's segment bought it."""
        code = self._codes(list(customers))
        in_segment = (code > 0) & (self.counts_[code, products] > 0)
        out = np.full(len(customers), "popular with customers", dtype=object)
        for c in np.unique(code[in_segment]):
            lab = self.labels_[c]
            out[in_segment & (code == c)] = (f"popular in your segment "
                                             f"({self.segment_names.get(lab, lab)})")
        return out


class Ease(_Base):
    """EASE: ``B = I - P / diag(P)``, ``P = (X'X + lambda I)^-1`` on the binary matrix.

    Parameters
    ----------
    lam : float
        The ridge penalty lambda (Steck used a few hundred on MovieLens and Netflix).
    max_products : int
        The most bought products that enter the inverse (cost grows with its cube).
    """

    def __init__(self, lam: float = 250.0, max_products: int = 3000,
                 popularity_prior: float = 1e-6):
        if lam <= 0:
            raise ValueError(f"lam: expected a positive penalty, found {lam}")
        self.lam, self.max_products, self.popularity_prior = lam, max_products, popularity_prior

    def fit(self, matrix: InteractionMatrix | None, repeat_products=None, *,
            engine=None) -> Ease:
        """The Gram matrix ``X'X`` of the kept products: co-occurrence counts from a
        self-join in the engine when ``engine`` (an :class:`.engine.EnginePairs`) is given,
        else from the matrix (integers either way, so the same ``B``)."""
        self.matrix_ = self._use(matrix, engine)
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        n = len(self.matrix_.products)
        if engine is not None:
            pop = engine.popularity().astype(np.float32)
        else:
            x = _binary(matrix.matrix)
            pop = np.bincount(x.indices, minlength=x.shape[1]).astype(np.float32)
        order = np.argsort(-pop, kind="stable")
        keep = np.sort(order[:min(self.max_products, int((pop > 0).sum()))])
        if engine is not None:
            g = engine.gram(keep)
        else:
            xs = x[:, keep].tocsc()
            g = (xs.T @ xs).toarray().astype(np.float64)
        g[np.diag_indices_from(g)] += self.lam
        c = scipy.linalg.cho_factor(g, overwrite_a=True, check_finite=False)
        p = scipy.linalg.cho_solve(c, np.eye(len(keep)), overwrite_b=True, check_finite=False)
        b = -p / np.diag(p)[None, :]
        np.fill_diagonal(b, 0.0)
        self.B_ = b.astype(np.float32)
        self.keep_ = keep
        pos = np.full(n, -1, dtype=np.int64)
        pos[keep] = np.arange(len(keep))
        self.pos_ = pos
        self.popularity_ = pop
        return self

    def _scores(self, x: sp.csr_matrix, rows=None) -> np.ndarray:
        xb = _binary(x)[:, self.keep_]
        s = np.zeros((x.shape[0], x.shape[1]), dtype=np.float32)
        s[:, self.keep_] = np.asarray(xb @ self.B_)
        s += self.popularity_prior * (self.popularity_ / max(self.popularity_.max(), 1.0))
        return s

    def _reasons(self, x, top):
        pos = self.pos_

        def weight(a, b):
            pa, pb = pos[a], pos[b]
            ok = (pa >= 0) & (pb >= 0)
            w = np.zeros(len(a), dtype=np.float32)
            w[ok] = self.B_[pa[ok], pb[ok]]
            return w

        return dense_reasons(x, top, weight)


class _Factors(_Base):
    """Shared scoring and reasons of the ``implicit`` factor models."""

    popularity_prior = 1e-6

    def _fit_factors(self, make_model, weighted: sp.csr_matrix) -> None:
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS threads would fight
            model = make_model()
            model.fit(weighted, show_progress=False)
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        norms = np.linalg.norm(self.item_factors_, axis=1)
        self.item_unit_ = self.item_factors_ / np.maximum(norms, 1e-9)[:, None]

    def _scores(self, x, rows) -> np.ndarray:
        s = self.user_factors_[rows] @ self.item_factors_.T
        s += self.popularity_prior * (self.popularity_ / max(self.popularity_.max(), 1.0))
        return s.astype(np.float32, copy=False)

    def _reasons(self, x, top):
        # cosine of item factors, computed once per chunk for the owned x suggested products
        v = self.item_unit_
        owned, sugg = np.unique(x.tocsr().indices), np.unique(top)
        block = v[owned] @ v[sugg].T
        pos_a = np.full(len(v), -1, dtype=np.int64)
        pos_b = np.full(len(v), -1, dtype=np.int64)
        pos_a[owned] = np.arange(len(owned))
        pos_b[sugg] = np.arange(len(sugg))
        return dense_reasons(x, top, lambda a, b: block[pos_a[a], pos_b[b]])


class ImplicitALS(_Factors):
    """Alternating least squares (``implicit.als``) on BM25-weighted purchase counts."""

    def __init__(self, factors: int = 64, regularization: float = 0.05, alpha: float = 2.0,
                 iterations: int = 15, random_state: int = 0):
        self.factors, self.regularization, self.alpha = factors, regularization, alpha
        self.iterations, self.random_state = iterations, random_state

    def fit(self, matrix: InteractionMatrix, repeat_products=None, *,
            engine=None) -> ImplicitALS:
        """Factorises the fetched matrix (``engine`` is accepted and not used: matrix
        factorisation is not co-occurrence counting)."""
        from implicit.cpu.als import AlternatingLeastSquares

        self.matrix_ = matrix
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        self.popularity_ = np.bincount(matrix.matrix.indices,
                                       minlength=matrix.shape[1]).astype(np.float32)
        self._fit_factors(lambda: AlternatingLeastSquares(
            factors=self.factors, regularization=self.regularization, alpha=self.alpha,
            iterations=self.iterations, random_state=self.random_state,
            calculate_training_loss=False), _bm25(matrix.matrix).tocsr())
        return self


class ImplicitBPR(_Factors):
    """Bayesian personalised ranking (``implicit.bpr``) on the binary purchase matrix."""

    def __init__(self, factors: int = 64, learning_rate: float = 0.05,
                 regularization: float = 0.01, iterations: int = 100, random_state: int = 0):
        self.factors, self.learning_rate, self.regularization = factors, learning_rate, regularization
        self.iterations, self.random_state = iterations, random_state

    def fit(self, matrix: InteractionMatrix, repeat_products=None, *,
            engine=None) -> ImplicitBPR:
        """Factorises the fetched matrix (``engine`` is accepted and not used)."""
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        self.matrix_ = matrix
        self.repeat_ok_ = self._exclusion_mask(repeat_products)
        self.popularity_ = np.bincount(matrix.matrix.indices,
                                       minlength=matrix.shape[1]).astype(np.float32)
        self._fit_factors(lambda: BayesianPersonalizedRanking(
            factors=self.factors, learning_rate=self.learning_rate,
            regularization=self.regularization, iterations=self.iterations,
            random_state=self.random_state), _binary(matrix.matrix))
        return self
