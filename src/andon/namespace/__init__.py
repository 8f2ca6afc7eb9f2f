"""The Unified Namespace: ISA-95 topics and the canonical sample that travels on them.

Good means: every message on the UNS can be placed in the plant hierarchy from its topic
alone, carries everything needed to judge it (value, unit, quality, source time, producer
sequence, source), and decodes to the same sample in every process.
"""

from andon.namespace.sample import Quality, Sample, decode_fields, decode_sample, encode_sample
from andon.namespace.topics import (
    PREFIX,
    TagAddress,
    edge_intervention_topic,
    intervention_topic,
    line_filter,
    parse_tag_topic,
    tag_topic,
)

__all__ = [
    "PREFIX",
    "Quality",
    "Sample",
    "TagAddress",
    "decode_fields",
    "decode_sample",
    "edge_intervention_topic",
    "encode_sample",
    "intervention_topic",
    "line_filter",
    "parse_tag_topic",
    "tag_topic",
]
