"""Differentiate: customers differ in value to the company and in what they need.

Modules: :mod:`.clv` (RFM summary, BG/NBD, Gamma-Gamma, lifetime value, holdout check),
:mod:`.skew` (Lorenz curve, Gini, top shares) and :mod:`.fence` (the picket fence).
"""

from .clv import (
    BGNBD,
    ConvergenceError,
    GammaGamma,
    HoldoutCheck,
    calibration_holdout,
    customer_lifetime_value,
    predict_clv,
    rfm_summary,
    rfm_summary_ibis,
)
from .fence import FencePosition, ManagerAssignment, PicketFence
from .skew import gini, lorenz, skew_summary, top_share

__all__ = [
    "BGNBD",
    "ConvergenceError",
    "FencePosition",
    "GammaGamma",
    "HoldoutCheck",
    "ManagerAssignment",
    "PicketFence",
    "calibration_holdout",
    "customer_lifetime_value",
    "gini",
    "lorenz",
    "predict_clv",
    "rfm_summary",
    "rfm_summary_ibis",
    "skew_summary",
    "top_share",
]
