"""The curated public API is a promise: changing it is a deliberate, visible act."""

from __future__ import annotations

import importlib
import subprocess
import sys

import andon

PINNED = {
    "andon": ["AndonError", "__version__"],
    "andon.spec": ["ACCESS_LEVELS", "Area", "Asset", "Calendar", "Downtime", "Enterprise", "Line",
                   "Person", "PlantSpec", "Role", "Site", "Tag", "UseCase", "load_spec",
                   "load_spec_text", "next_planned_stop", "planned_stops"],
    "andon.namespace": ["PREFIX", "Quality", "Sample", "TagAddress", "decode_fields",
                        "decode_sample", "edge_intervention_topic", "encode_sample",
                        "intervention_topic", "line_filter", "parse_tag_topic", "tag_topic"],
    "andon.interventions": ["Contribution", "Decider", "Detection", "Intervention",
                            "InterventionState", "OutcomeLabel", "Priority", "TransitionRecord",
                            "intervention_document", "render_action"],
    "andon.feedback": ["FEEDBACK_STATE", "OUTCOME_STATES", "Feedback", "FeedbackKind", "Label",
                       "Outcome", "OutcomeLabel", "Via", "apply_feedback", "apply_outcome",
                       "feedback_for_move", "feedback_label", "outcome_label"],
    "andon.audit": ["Anchor", "ChainEntry", "Event", "EventKind", "GENESIS", "Meaning",
                    "Signature", "Verification", "anchor_message", "record_hash",
                    "verify_chain"],
    "andon.kpi": ["KpiReport", "LeadTime", "LoadItem", "LoadReport", "Oee", "PositionLoad",
                  "QualityReport", "kpi_report_from", "oee",
                  "SourceQuality", "TagQuality", "TrackRecord", "Verdict", "build_report",
                  "lead_times", "load_figures", "load_items", "report_from", "track_record_from",
                  "track_records"],
    "andon.app": ["Actor", "Answered", "AssetDrift", "Change", "Context", "Moved", "PanelAnswer",
                  "PlantRef", "ReplayResult", "RolloutStatus", "SignatureIn", "TickReport",
                  "TrailReport",
                  "access_of", "add_user", "advance_rollout", "anchor_trail", "answer_panel",
                  "apply_work_order", "archive_model", "change_password", "delete_user",
                  "drift_status", "escalate_due", "give_feedback", "import_work_orders",
                  "issue_token", "label_triage", "move", "promote_model", "read_trail",
                  "record_drift", "record_outcome", "register_model", "replace_spec",
                  "replay_quarantined", "requalify_model", "revoke_token", "revoke_user_tokens",
                  "rollout_back", "rollout_status", "set_user_disabled", "sign_in", "sign_model",
                  "start_rollout", "track_record", "verify_trail", "withdraw_rollout",
                  # the engineers' pages (andon.web.quality_pages)
                  "DataQuality", "OperatorLoad", "QualityHour", "QuarantinePage",
                  "ReplayProgress", "data_quality", "operator_load", "quarantine_page",
                  "triage_queue",
                  # KPIs: OEE, downtime, adoption, ROI before vs after (andon.app.kpi)
                  "kpi_lines", "kpi_report",
                  # the engineers' pages (andon.web.engineering): assets, models, edges
                  "AssetHistory", "AssetSummary", "EdgeOverview", "ModelSummary",
                  "ModelVersion", "asset_history", "asset_tree", "edge_overview",
                  "model_overview", "model_versions",
                  # the operator console (andon.app.console)
                  "BulkItem", "Commented", "Found", "LiveMarks", "bulk_move", "comment_on",
                  "console_scope", "find_interventions", "live_changes", "may_see_all"],
    "andon.rollout": ["Action", "Check", "Coverage", "Rollout", "Stage", "Step", "coverage_of",
                      "evaluate", "move", "start", "unmet"],
    "andon.store": ["Event", "SpecVersion", "SqlStore", "Store", "open_store", "refused_data"],
    "andon.registry": ["SIGNATURE_FILE", "ModelBook", "ModelRecord", "Registry", "Signature",
                       "Stage", "generate_keypair", "key_id_of", "production_of",
                       "read_signature", "sign", "transition", "trusted_keys", "verify"],
    "andon.testing": ["ManualClock", "MosquittoProcess", "NatsCluster", "WaitTimeout",
                      "eventually", "free_port", "need", "port_open", "postgres_database",
                      "service_unavailable", "topic_prefix", "unique_id", "until"],
    "andon.testing.conformance.sinks": [
        "DELIVER_WITHIN_S", "SinkFactory", "check_delivers", "check_delivers_async",
        "check_fails_softly", "check_fails_softly_async", "check_redelivers",
        "check_redelivers_async", "check_sink", "conformance_item"],
    "andon.testing.conformance.connectors": [
        "CHECKS", "STOP_WITHIN_S", "WAIT_S", "ConnectorHarness",
        "check_malformed_input_is_rejected", "check_stop_ends_run",
        "check_unknown_raw_name_is_rejected", "check_valid_points_arrive", "drive",
        "until_collected"],
}


def test_public_names_are_pinned_and_importable() -> None:
    assert andon.__all__ == PINNED["andon"]
    for module, names in PINNED.items():
        mod = importlib.import_module(module)
        assert sorted(mod.__all__) == sorted(names), module
        for name in names:
            assert hasattr(mod, name), f"{module}.{name}"


def test_every_package_says_what_it_is_and_what_good_means() -> None:
    for module in ("spec", "namespace", "features", "scoring", "interventions", "registry",
                   "auth", "audit", "feedback", "kpi", "rollout", "app", "http", "store",
                   "connectors", "edge", "simulator", "services", "api", "web", "testing"):
        doc = importlib.import_module(f"andon.{module}").__doc__ or ""
        assert len(doc.strip()) > 40, module


def test_each_surface_package_imports_on_its_own() -> None:
    """``import andon.web`` (or any package) works first thing in a fresh interpreter."""
    for module in ("andon.web", "andon.api", "andon.http", "andon.app", "andon.cli",
                   "andon.services", "andon.feedback", "andon.kpi", "andon.audit",
                   "andon.rollout"):
        done = subprocess.run([sys.executable, "-c", f"import {module}"],  # noqa: S603
                              capture_output=True,
                              text=True, check=False, timeout=120)
        assert done.returncode == 0, f"import {module}: {done.stderr.strip()[-400:]}"
