"""The plant spec: one YAML file that describes the plant Andon watches.

Enterprise → site → area → line → asset → tag (canonical name, unit, valid range, sample
period), the use cases, people and roles, and each line's maintenance calendar. Good means: a
spec that loads is internally consistent (every reference resolves, every unit measures its
quantity), and a spec that does not load says so in one line per problem, naming file, line and
field.
"""

from andon.spec.calendar import next_planned_stop, planned_stops
from andon.spec.loader import load_spec, load_spec_text
from andon.spec.model import (
    ACCESS_LEVELS,
    Area,
    Asset,
    Calendar,
    Downtime,
    Enterprise,
    Line,
    Person,
    PlantSpec,
    Role,
    Site,
    Tag,
    UseCase,
)

__all__ = [
    "ACCESS_LEVELS",
    "Area",
    "Asset",
    "Calendar",
    "Downtime",
    "Enterprise",
    "Line",
    "Person",
    "PlantSpec",
    "Role",
    "Site",
    "Tag",
    "UseCase",
    "load_spec",
    "load_spec_text",
    "next_planned_stop",
    "planned_stops",
]
