"""Differentiate: customers differ in value to the company and in what they need.

Modules: :mod:`.clv` (RFM summary, BG/NBD, Gamma-Gamma, lifetime value, holdout check),
:mod:`.skew` (Lorenz curve, Gini, top shares), :mod:`.fence` (the picket fence),
:mod:`.value` (historical value in the engine), :mod:`.needs` (needs segments),
:mod:`.potential` (potential and share of wallet), :mod:`.tiers`, :mod:`.matrix` (the
differentiation matrix), :mod:`.lists` (workshop lists) and :mod:`.pipeline` (the stage).
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
from .lists import decliners, lost_valuable, low_share_high_potential
from .matrix import QUADRANTS, differentiation_matrix
from .needs import needs_features, segment_needs
from .potential import potential_value
from .skew import gini, lorenz, skew_summary, top_share
from .tiers import assign_tiers
from .value import historical_value

__all__ = [
    "BGNBD",
    "QUADRANTS",
    "ConvergenceError",
    "FencePosition",
    "GammaGamma",
    "HoldoutCheck",
    "ManagerAssignment",
    "PicketFence",
    "assign_tiers",
    "calibration_holdout",
    "customer_lifetime_value",
    "decliners",
    "differentiation_matrix",
    "gini",
    "historical_value",
    "lorenz",
    "lost_valuable",
    "low_share_high_potential",
    "needs_features",
    "potential_value",
    "predict_clv",
    "rfm_summary",
    "rfm_summary_ibis",
    "segment_needs",
    "skew_summary",
    "top_share",
]
