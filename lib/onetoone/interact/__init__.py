"""Interact: remember every interaction, channel economics, a contact policy that never
badgers, and the next best action for every customer (IDIC stage 3).

Modules: :mod:`timeline` (one customer's history, where we left off), :mod:`channels`
(cost per contact, volumes, the channel-shift simulator), :mod:`policy` (consent, caps,
quiet time; the badgering report and the plan checker), :mod:`nba` (next best action and
scheduling), :mod:`lists` (lost valuable customers, repeat complainers, response rates),
:mod:`profiling` (the next questions to ask), :mod:`pipeline` (``onetoone run interact``).
"""

from .channels import channel_volumes, shift_savings, shift_summary, unit_costs
from .lists import lost_valuable, repeat_complainers, response_rates
from .nba import Assumptions, next_best_actions
from .pipeline import build_contact_plan, export_contact_plan, plan_inputs, run, write_results
from .policy import Policy, PolicyViolation, badgering_report, check_plan
from .profiling import next_questions
from .timeline import customer_timeline, where_we_left_off

__all__ = ["Assumptions", "Policy", "PolicyViolation", "badgering_report", "build_contact_plan",
           "channel_volumes", "check_plan", "customer_timeline", "export_contact_plan",
           "lost_valuable", "next_best_actions", "next_questions", "plan_inputs",
           "repeat_complainers", "response_rates", "run", "shift_savings", "shift_summary",
           "unit_costs", "where_we_left_off", "write_results"]
