"""Customize: personalised recommendations, a configurator that remembers, catalog editions,
tailored messages (stage 4 of the one-to-one programme; IDIC.md).

Modules: :mod:`.recommend` (item-item recommender, popularity baseline), :mod:`.evaluate`
(time-based holdout), :mod:`.configurator` (validate, price, remember, propose),
:mod:`.catalog` (editions and coverage), :mod:`.messages`, :mod:`.profile` (tier, segment,
region per customer), :mod:`.pipeline` (``onetoone run customize``).
"""

from .catalog import Editions, build_editions, coverage_curve, grouping_coverage
from .configurator import (
                           Configurator,
                           InvalidConfiguration,
                           PricedConfiguration,
                           Proposal,
                           configuration_history,
                           propose_configuration,
                           save_configuration,
)
from .evaluate import HoldoutSplit, evaluate_holdout, ranking_metrics, time_split
from .messages import tailored_messages
from .profile import customer_profile
from .recommend import (
                           InteractionMatrix,
                           ItemKNN,
                           Popularity,
                           build_matrix,
                           purchase_pairs,
                           repeat_categories,
)

__all__ = ["Configurator", "Editions", "HoldoutSplit", "InteractionMatrix", "InvalidConfiguration",
           "ItemKNN", "Popularity", "PricedConfiguration", "Proposal", "build_editions",
           "build_matrix", "configuration_history", "coverage_curve", "customer_profile",
           "evaluate_holdout", "grouping_coverage", "propose_configuration", "purchase_pairs",
           "ranking_metrics", "repeat_categories", "save_configuration", "tailored_messages",
           "time_split"]
