"""Customize: recommendations chosen by evidence, a configurator that remembers, catalog
editions, tailored messages (stage 4 of the one-to-one programme).

Modules: :mod:`.recommend` (item-kNN, popularity baseline), :mod:`.models` (popularity within
segment, EASE, implicit ALS / BPR), :mod:`.select` (validation split before the holdout, paired
bootstrap lift, the per-client choice), :mod:`.repeats` (one repeat rule), :mod:`.evaluate`
(time-based holdout metrics), :mod:`.configurator` (validate, price, remember, propose),
:mod:`.catalog` (editions and coverage), :mod:`.messages`, :mod:`.profile` (tier, segment,
region per customer), :mod:`.pipeline` (``onetoone run customize``).
"""

from .catalog import (
                      Editions,
                      build_editions,
                      coverage_curve,
                      edition_recommendation,
                      grouping_coverage,
                      knee,
)
from .configurator import (
                           Configurator,
                           InvalidConfiguration,
                           PricedConfiguration,
                           Proposal,
                           configuration_history,
                           configuration_summary,
                           propose_configuration,
                           save_configuration,
)
from .evaluate import HoldoutSplit, evaluate_holdout, ranking_metrics, time_split
from .messages import tailored_messages
from .models import Ease, ImplicitALS, ImplicitBPR, SegmentPopularity
from .profile import customer_profile
from .recommend import (
                           InteractionMatrix,
                           ItemKNN,
                           Popularity,
                           build_matrix,
                           purchase_pairs,
                           repeat_categories,
)
from .repeats import RepeatRule, repeat_rule
from .select import Selection, choose_model, lift_interval, make_candidates, time_windows

__all__ = [
                      "Configurator",
                      "Ease",
                      "Editions",
                      "HoldoutSplit",
                      "ImplicitALS",
                      "ImplicitBPR",
                      "InteractionMatrix",
                      "InvalidConfiguration",
                      "ItemKNN",
                      "Popularity",
                      "PricedConfiguration",
                      "Proposal",
                      "RepeatRule",
                      "SegmentPopularity",
                      "Selection",
                      "build_editions",
                      "build_matrix",
                      "choose_model",
                      "configuration_history",
                      "configuration_summary",
                      "coverage_curve",
                      "customer_profile",
                      "edition_recommendation",
                      "evaluate_holdout",
                      "grouping_coverage",
                      "knee",
                      "lift_interval",
                      "make_candidates",
                      "propose_configuration",
                      "purchase_pairs",
                      "ranking_metrics",
                      "repeat_categories",
                      "repeat_rule",
                      "save_configuration",
                      "tailored_messages",
                      "time_split",
                      "time_windows",
]
