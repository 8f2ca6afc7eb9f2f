"""KPIs: the figures a plant judges Andon, its models and its data by.

Operator load in ISA-18.2 terms per operator position (``load``), the data-quality report per
tag and source (``quality``), how early interventions warned before confirmed failures
(``leadtime``), and each model version's track record per line: how often it was right, how
early, how many false alarms (``trackrecord``); and per line, OEE per ISO 22400, scrap,
downtime by reason, MTBF/MTTR, adoption and ROI before vs after (``oee``, ``reliability``,
``adoption``, ``roi``, ``report``).
Good means: every figure is defined once, computed from what Andon already stores, and means
the same in the CLI, the API, the web and a replay of history.
"""

from andon.kpi.leadtime import LeadTime, lead_times
from andon.kpi.load import LoadItem, LoadReport, PositionLoad, load_figures, load_items
from andon.kpi.oee import Oee, oee
from andon.kpi.quality import QualityReport, SourceQuality, TagQuality, build_report, report_from
from andon.kpi.report import KpiReport, kpi_report_from
from andon.kpi.trackrecord import TrackRecord, Verdict, track_record_from, track_records

__all__ = [
    "KpiReport",
    "LeadTime",
    "LoadItem",
    "LoadReport",
    "Oee",
    "PositionLoad",
    "QualityReport",
    "SourceQuality",
    "TagQuality",
    "TrackRecord",
    "Verdict",
    "build_report",
    "kpi_report_from",
    "lead_times",
    "load_figures",
    "load_items",
    "oee",
    "report_from",
    "track_record_from",
    "track_records",
]
