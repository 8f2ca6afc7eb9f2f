"""The application layer: one function per thing a person (or Andon itself) can do.

Acknowledge, start, finish, defer, dismiss or shelve an intervention, answer it, record what
was found, label a triage item, promote or archive a model, roll a new version out stage by
stage (its gate met) or back, read the track record, replace the plant spec, import
work orders, apply a CMMS work-order change, escalate what is due: each is written once here,
below every surface. The JSON API, the web inbox, the CLI, MQTT panels and the CMMS poller only
parse their input, build an ``Actor`` (who, with which access, through which surface) and call
the function, then render what it returns: the changed record and the events it caused.

Good means: a rule holds on every surface because it is checked in one place (permission,
reason required, legal move, person known); nothing here knows HTTP, MQTT, a terminal or SQL
(it talks to the ``Store`` protocol and a ``Clock``); every change leaves events with who,
when and why.
"""

from andon.app.assets import AssetHistory, AssetSummary, asset_history, asset_tree
from andon.app.audit import TrailReport, anchor_trail, read_trail, verify_trail
from andon.app.console import (
    BulkItem,
    Commented,
    Found,
    LiveMarks,
    bulk_move,
    comment_on,
    console_scope,
    find_interventions,
    live_changes,
    may_see_all,
)
from andon.app.context import Actor, Change, Context, PlantRef
from andon.app.drift import AssetDrift, drift_status, record_drift
from andon.app.edges import EdgeOverview, edge_overview
from andon.app.escalation import TickReport, escalate_due
from andon.app.interventions import Answered, Moved, give_feedback, move, record_outcome
from andon.app.kpi import kpi_lines, kpi_report
from andon.app.load import OperatorLoad, operator_load
from andon.app.model_versions import ModelSummary, ModelVersion, model_overview, model_versions
from andon.app.models import (
    archive_model,
    promote_model,
    register_model,
    requalify_model,
    sign_model,
)
from andon.app.panel import PanelAnswer, answer_panel
from andon.app.quality import DataQuality, QualityHour, data_quality
from andon.app.quarantine import (
    QuarantinePage,
    ReplayProgress,
    ReplayResult,
    quarantine_page,
    replay_quarantined,
)
from andon.app.rollout import (
    RolloutStatus,
    advance_rollout,
    rollout_back,
    rollout_status,
    start_rollout,
    track_record,
    withdraw_rollout,
)
from andon.app.signatures import SignatureIn
from andon.app.spec import replace_spec
from andon.app.triage import label_triage, triage_queue
from andon.app.users import (
    access_of,
    add_user,
    change_password,
    delete_user,
    issue_token,
    revoke_token,
    revoke_user_tokens,
    set_user_disabled,
    sign_in,
)
from andon.app.workorders import apply_work_order, import_work_orders

__all__ = [
    "Actor",
    "Answered",
    "AssetDrift",
    "AssetHistory",
    "AssetSummary",
    "BulkItem",
    "Change",
    "Commented",
    "Context",
    "DataQuality",
    "EdgeOverview",
    "Found",
    "LiveMarks",
    "ModelSummary",
    "ModelVersion",
    "Moved",
    "OperatorLoad",
    "PanelAnswer",
    "PlantRef",
    "QualityHour",
    "QuarantinePage",
    "ReplayProgress",
    "ReplayResult",
    "RolloutStatus",
    "SignatureIn",
    "TickReport",
    "TrailReport",
    "access_of",
    "add_user",
    "advance_rollout",
    "anchor_trail",
    "answer_panel",
    "apply_work_order",
    "archive_model",
    "asset_history",
    "asset_tree",
    "bulk_move",
    "change_password",
    "comment_on",
    "console_scope",
    "data_quality",
    "delete_user",
    "drift_status",
    "edge_overview",
    "escalate_due",
    "find_interventions",
    "give_feedback",
    "import_work_orders",
    "issue_token",
    "kpi_lines",
    "kpi_report",
    "label_triage",
    "live_changes",
    "may_see_all",
    "model_overview",
    "model_versions",
    "move",
    "operator_load",
    "promote_model",
    "quarantine_page",
    "read_trail",
    "record_drift",
    "record_outcome",
    "register_model",
    "replace_spec",
    "replay_quarantined",
    "requalify_model",
    "revoke_token",
    "revoke_user_tokens",
    "rollout_back",
    "rollout_status",
    "set_user_disabled",
    "sign_in",
    "sign_model",
    "start_rollout",
    "track_record",
    "triage_queue",
    "verify_trail",
    "withdraw_rollout",
]
