"""The differentiation matrix: where the client sits on value skew (x) and needs diversity (y).

Peppers, Rogers & Dorf (HBR 1999) place a business by how much its customers differ in value
to it and in what they need; the quadrant says where one-to-one effort pays:

=================  ======================  ===============================================
quadrant           example                 emphasis
=================  ======================  ===============================================
low skew, low      petrol station          mass marketing; efficiency; be easy to deal with
high needs, low    bookstore               customize cheaply: remember each customer's
skew                                       preferences (a site that knows every reader)
low needs, high    airline                 value-based key-account treatment: find, keep
skew                                       and reward the most valuable
high, high         computer systems        full one-to-one: learning relationships with
                                           each valuable customer
=================  ======================  ===============================================

The midlines are parameters. Value skew is the Gini coefficient of customer value; 0.5 is
the default line (above it the top 20 % of customers typically hold well over half of the
value). Needs diversity is :func:`onetoone.differentiate.needs.needs_diversity`; 0.25 is the
default line, above what featureless customers split into segments reach (about 0.1-0.2).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QUADRANTS", "MatrixPlacement", "differentiation_matrix"]

QUADRANTS: dict[str, dict[str, str]] = {
    "low_low": {
        "label": "Mass marketing", "example": "petrol station",
        "emphasis": "Customers are much alike in value and needs: run an efficient mass "
                    "programme, make every contact easy and cheap, and use the data to cut "
                    "cost to serve rather than to treat customers individually."},
    "needs": {
        "label": "Customize cheaply", "example": "bookstore",
        "emphasis": "Customers want different things but are worth about the same: "
                    "customize at low cost (remember every customer's preferences, "
                    "recommend from their history, tailored editions) rather than assign "
                    "people to customers."},
    "value": {
        "label": "Key accounts by value", "example": "airline",
        "emphasis": "A few customers hold most of the value and want much the same: "
                    "rank customers by value, give the most valuable recognition and "
                    "privileges (key-account treatment), win back the valuable who leave."},
    "high_high": {
        "label": "Full one-to-one", "example": "computer systems",
        "emphasis": "Customers differ in value and in needs: build learning "
                    "relationships with the most valuable, customer managers right of the "
                    "picket fence, configured offers for each."},
}
"""Quadrant key -> label, example business and emphasis (docs/stages.md, Differentiate)."""


@dataclass(frozen=True)
class MatrixPlacement:
    """The client's place on the differentiation matrix."""

    value_skew: float
    needs_diversity: float | None
    skew_threshold: float
    diversity_threshold: float
    quadrant: str | None
    label: str | None
    example: str | None
    emphasis: str | None

    unknown: str = ""  # why needs diversity is unknown (empty when it was measured)

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    @property
    def known(self) -> bool:
        """Is the client placed on both axes (needs diversity measured)?"""
        return self.needs_diversity is not None

    def sentence(self) -> str:
        """One sentence for a report."""
        if not self.known:
            side = "high" if self.value_skew >= self.skew_threshold else "low"
            pair = ("an airline (key accounts by value) from a computer-systems maker (full "
                    "one-to-one)" if side == "high" else
                    "a petrol station (mass marketing) from a bookstore (customize cheaply)")
            return (f"Value skew (Gini) {self.value_skew:.2f} is {side}, but needs diversity is "
                    f"unknown ({self.unknown}), so the matrix cannot place the client; product "
                    f"categories and list prices, sales channels or contact history would "
                    f"tell {pair}.")
        return (f"Value skew (Gini) {self.value_skew:.2f} and needs diversity "
                f"{self.needs_diversity:.2f} place the client with businesses like a {self.example}: "
                f"{self.label.lower()}. {self.emphasis}")


def differentiation_matrix(
    value_skew: float,
    needs_diversity: float | None,
    *,
    skew_threshold: float = 0.5,
    diversity_threshold: float = 0.25,
    unknown: str = "no needs segments",
) -> MatrixPlacement:
    """Place the client by value skew (Gini of customer value) and needs diversity.

    Parameters
    ----------
    value_skew : float
        Gini coefficient of customer value, in [0, 1].
    needs_diversity : float or None
        :func:`~onetoone.differentiate.needs.needs_diversity`, in [0, 1]; None when it could
        not be measured (no needs data): the placement then has no quadrant (``quadrant``,
        ``label``, ``example`` and ``emphasis`` are None) and says so, with ``unknown`` as
        the reason.
    skew_threshold, diversity_threshold : float
        The matrix's midlines.
    """
    if needs_diversity is None:
        if not 0 <= value_skew <= 1:
            raise ValueError(f"differentiation_matrix: value_skew must be in [0, 1]; found "
                             f"{value_skew}")
        return MatrixPlacement(float(value_skew), None, skew_threshold, diversity_threshold,
                               None, None, None, None, unknown=unknown)
    for name, x in (("value_skew", value_skew), ("needs_diversity", needs_diversity)):
        if not 0 <= x <= 1:  # also catches NaN
            raise ValueError(f"differentiation_matrix: {name} must be in [0, 1]; found {x}")
    hi_skew = value_skew >= skew_threshold
    hi_needs = needs_diversity >= diversity_threshold
    key = {(False, False): "low_low", (False, True): "needs", (True, False): "value",
           (True, True): "high_high"}[(hi_skew, hi_needs)]
    q = QUADRANTS[key]
    return MatrixPlacement(float(value_skew), float(needs_diversity), skew_threshold,
                           diversity_threshold, key, q["label"], q["example"], q["emphasis"])
