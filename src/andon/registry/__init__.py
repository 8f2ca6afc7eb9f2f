"""Model registry: signed model versions, their stages, and who moved them when and why.

A version is an artifact directory (``model.skops`` + ``meta.json`` with its lineage) plus a
detached Ed25519 ``signature.json``. Registering signs it and records it as a *candidate*;
promoting makes it the one *production* version of its name (archiving the previous one);
archiving retires it. Good means: an edge serves only a production version whose signature
verifies against the plant's trusted keys, so an unsigned, altered, truncated or foreign model
is refused with a one-line reason and never scores; every stage change is on record.
"""

from andon.registry.record import ModelRecord
from andon.registry.registry import ModelBook, Registry, production_of
from andon.registry.signing import (
    SIGNATURE_FILE,
    Signature,
    generate_keypair,
    key_id_of,
    read_signature,
    sign,
    trusted_keys,
    verify,
)
from andon.registry.stages import Stage, transition

__all__ = [
    "SIGNATURE_FILE",
    "ModelBook",
    "ModelRecord",
    "Registry",
    "Signature",
    "Stage",
    "generate_keypair",
    "key_id_of",
    "production_of",
    "read_signature",
    "sign",
    "transition",
    "trusted_keys",
    "verify",
]
