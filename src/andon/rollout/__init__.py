"""Staged rollout: a new model version earns its way from shadow on one line to live everywhere.

``stages`` is the lifecycle (one enum, one transition function, an append-only history of who
moved it, when and why); ``gate`` evaluates a stage's declared evidence from the track record
(``andon.kpi.trackrecord``); ``plan`` says where each version scores at an instant, live or
in shadow, for the edge and for the track record alike. Good means: no use case reaches a
wider stage without the evidence its spec declares, ``back`` is one command, and a shadow
version's would-be interventions are recorded but never delivered to anyone.
"""

from andon.rollout.gate import evaluate, unmet
from andon.rollout.plan import Coverage, coverage_of
from andon.rollout.stages import Action, Check, Rollout, Stage, Step, move, start

__all__ = [
    "Action",
    "Check",
    "Coverage",
    "Rollout",
    "Stage",
    "Step",
    "coverage_of",
    "evaluate",
    "move",
    "start",
    "unmet",
]
