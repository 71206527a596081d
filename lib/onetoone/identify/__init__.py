"""Identify: one customer from every source record, recognised at every contact point.

Modules, one idea each: :mod:`normalise` (identifiers in one spelling), :mod:`linkage`
(splink model, blocking, clustering, evaluation), :mod:`golden` (survivorship),
:mod:`overrides` (clerical review, must-link / cannot-link, explanations),
:mod:`recognition` (share of activity tied to a known customer), :mod:`profile`
(completeness, consent, questions to ask), :mod:`pipeline` (the stage end to end).
"""

from .golden import golden_records
from .linkage import (
                      BlockingRuleTooLoose,
                      blocking_recall,
                      check_blocking,
                      cluster_records,
                      count_comparisons,
                      customer_ids,
                      household_guard,
                      link_records,
                      pairwise_scores,
)
from .normalise import (
                      has_identifier,
                      normalise_email,
                      normalise_name,
                      normalise_phone,
                      normalise_postcode,
                      normalise_records,
)
from .overrides import add_override, explain, read_overrides, review_queue
from .pipeline import identify_customers, run

__all__ = [
    "BlockingRuleTooLoose", "add_override", "blocking_recall", "check_blocking",
    "cluster_records", "count_comparisons", "customer_ids", "explain", "golden_records",
    "has_identifier", "household_guard", "identify_customers", "link_records",
    "normalise_email", "normalise_name", "normalise_phone", "normalise_postcode",
    "normalise_records", "pairwise_scores", "read_overrides", "review_queue", "run",
]
