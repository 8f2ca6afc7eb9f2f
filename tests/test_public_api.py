"""The curated public API is a promise: changing it is a deliberate, visible act."""

from __future__ import annotations

import importlib

import andon

PINNED = {
    "andon": ["AndonError", "__version__"],
    "andon.spec": ["ACCESS_LEVELS", "Area", "Asset", "Calendar", "Downtime", "Enterprise", "Line",
                   "Person", "PlantSpec", "Role", "Site", "Tag", "UseCase", "load_spec",
                   "load_spec_text", "next_planned_stop", "planned_stops"],
    "andon.namespace": ["PREFIX", "Quality", "Sample", "TagAddress", "decode_fields",
                        "decode_sample", "edge_intervention_topic", "encode_sample",
                        "intervention_topic", "line_filter", "parse_tag_topic", "tag_topic"],
    "andon.interventions": ["Contribution", "Decider", "Detection", "Feedback", "FeedbackKind",
                            "InterventionState", "Label", "Outcome", "OutcomeLabel",
                            "Priority", "Intervention", "TransitionRecord",
                            "apply_feedback", "apply_outcome", "intervention_document",
                            "render_action"],
    "andon.store": ["Event", "SpecVersion", "SqlStore", "Store", "open_store", "refused_data"],
    "andon.registry": ["SIGNATURE_FILE", "ModelBook", "ModelRecord", "Registry", "Signature",
                       "Stage", "generate_keypair", "key_id_of", "production_of",
                       "read_signature", "sign", "transition", "trusted_keys", "verify"],
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
                   "auth", "store", "connectors", "edge", "simulator", "services", "api", "web",
                   "testing"):
        doc = importlib.import_module(f"andon.{module}").__doc__ or ""
        assert len(doc.strip()) > 40, module
