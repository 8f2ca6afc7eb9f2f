"""A tiny third-party Andon plug-in distribution, as tests install it (``tests/test_plugins.py``).

It adds one of each extension point, declared in its ``entry_points.txt`` exactly as Andon
declares its built-ins:

- sink type ``jsonl``: appends each intervention version to a JSON-lines file;
- connector ``csv-rows``: reads ``asset,tag,value,unit,ts_ms`` rows of the spec's tags, then
  stops (a finite source);
- model kind ``zscore``: the sum of squared z-scores of the features against the healthy
  mean, threshold ``margin`` x its training maximum; stored as arrays (no pickle).
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from andon.clock import Clock
from andon.connectors.base import PointSink
from andon.connectors.plugin import ConnectorContext, ConnectorPlugin
from andon.errors import OptionError
from andon.namespace.sample import Quality, Sample
from andon.namespace.topics import TagAddress
from andon.scoring import Contribution, Fitted, ModelMeta, ModelPlugin, Score, TrainingSet
from andon.sinks.base import Attempt, DeliveryResult, Outgoing, canonical_json
from andon.sinks.plugin import SinkContext, SinkPlugin

__all__ = ["CSV_ROWS", "JSONL", "ZSCORE"]


# -- sink: JSON lines ------------------------------------------------------------------------
class JsonlConfig(BaseModel):
    """Where the file is."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: Path = Field(description="the JSON-lines file interventions are appended to")


class JsonlSink:
    """Append every version of every intervention to one file, one JSON document a line."""

    def __init__(self, name: str, path: Path, clock: Clock) -> None:
        self._name = name
        self.path = path
        self.clock = clock

    @property
    def name(self) -> str:
        return self._name

    async def deliver(self, item: Outgoing) -> DeliveryResult:
        now = self.clock.now()
        try:
            with self.path.open("ab") as f:
                f.write(canonical_json(item.document) + b"\n")
        except OSError as exc:
            return DeliveryResult.failed(now, f"cannot append to {self.path}: {exc}")
        return DeliveryResult((Attempt(now, ok=True),), external_id=str(self.path))


def _jsonl(config: JsonlConfig, context: SinkContext) -> JsonlSink:
    return JsonlSink(context.name, config.path, context.clock)


JSONL = SinkPlugin(name="jsonl", summary="Append each intervention version to a JSON-lines "
                   "file.", config=JsonlConfig, build=_jsonl)


# -- connector: CSV rows ---------------------------------------------------------------------
class CsvOptions(BaseModel):
    """Options of ``andon connect csv-rows``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    file: Path = Field(description="CSV with a header: asset,tag,value,unit,ts_ms")
    source: str = Field(default="csv-rows", description="Producer id of the samples.")


class CsvRows:
    """Every row of the file as a canonical sample of the spec's asset and tag, then stop."""

    kind = "csv-rows"

    def __init__(self, path: Path, where: dict[str, TagAddress], source: str) -> None:
        self.path = path
        self.where = where  # asset id -> address of its first tag (tag replaced per row)
        self.source = source
        self.delivered = 0
        self.rejected = 0

    async def run(self, sink: PointSink, stop: asyncio.Event) -> None:
        with self.path.open(newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.DictReader(f), start=2):
                if stop.is_set():
                    return
                raw = ",".join(row.values()).encode()
                base = self.where.get(row["asset"])
                if base is None:
                    sink.reject(f"{self.path.name}:{n}", raw, f"unknown asset {row['asset']!r}")
                    self.rejected += 1
                    continue
                address = base._replace(tag=row["tag"])
                sink.on_sample(Sample(address, float(row["value"]), row["unit"], Quality.GOOD,
                                      int(row["ts_ms"]), n, self.source), address.topic, raw)
                self.delivered += 1
                await asyncio.sleep(0)


def _csv_rows(options: CsvOptions, context: ConnectorContext) -> CsvRows:
    if not options.file.is_file():
        raise OptionError("file", f"{options.file}: no such file")
    where = {a.id: TagAddress(context.spec.enterprise.id, s.id, ar.id, ln.id, a.id, "")
             for s, ar, ln, a in context.spec.assets()}
    return CsvRows(options.file, where, options.source)


CSV_ROWS = ConnectorPlugin(
    name="csv-rows", summary="Read asset,tag,value,unit,ts_ms rows from a CSV file, then stop.",
    config=CsvOptions, build=_csv_rows, arguments=("file",), tag_map="none",
    describe=lambda c, _ctx: f"csv-rows reading {c.path.name}",
    report=lambda c: f"csv-rows stopped: {c.delivered} samples, {c.rejected} rejected",
)


# -- model kind: z-score -----------------------------------------------------------------------
class ZScoreParams(BaseModel):
    """Parameters of the z-score model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    margin: float = Field(default=1.5, ge=1.0, description="threshold = margin x training max")


class ZScoreModel:
    """Sum of squared z-scores against the healthy mean and spread."""

    kind = "zscore"

    def __init__(self, features: list[str], units: list[str], threshold: float, *,
                 mean: Any, std: Any, top: int = 3) -> None:
        self.features = list(features)
        self.units = list(units)
        self.threshold = float(threshold)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.top = top

    def squares(self, x: Any) -> Any:
        return ((np.atleast_2d(x) - self.mean) / self.std) ** 2

    def score(self, x: Any) -> Score:
        sq = self.squares(x)[0]
        total = float(sq.sum())
        order = np.argsort(-sq)[: self.top]
        why = tuple(Contribution(self.features[i], float(np.atleast_2d(x)[0, i]),
                                 float(self.mean[i]), float(self.std[i]),
                                 float(sq[i] / total) if total > 0 else 0.0, self.units[i])
                    for i in order)
        return Score(total, self.threshold, why)

    def in_distribution(self, x: Any) -> bool | None:
        del x
        return None


def _fit(data: TrainingSet, params: Any) -> Fitted:
    if data.X.shape[0] < 2:
        raise ValueError(f"need at least 2 healthy windows, got {data.X.shape[0]}")
    p = params if isinstance(params, ZScoreParams) else ZScoreParams()
    mean = data.X.mean(axis=0)
    std = np.maximum(data.X.std(axis=0), 1e-6)
    model = ZScoreModel(data.features, data.units, 1.0, mean=mean, std=std, top=data.top)
    train = model.squares(data.X).sum(axis=1)
    model.threshold = float(train.max() * p.margin)
    return Fitted(model, params={"margin": p.margin}, metrics={"train_max": float(train.max())})


def _dump(model: Any) -> Any:
    return {"mean": model.mean, "std": model.std}


def _load(state: Any, meta: ModelMeta, top: int) -> ZScoreModel:
    if len(state["mean"]) != len(meta.features):
        raise ValueError(f"metadata lists {len(meta.features)} features; the artifact has "
                         f"{len(state['mean'])}")
    return ZScoreModel(meta.features, meta.units, meta.threshold, mean=state["mean"],
                       std=state["std"], top=top)


ZSCORE = ModelPlugin(name="zscore", summary="Sum of squared z-scores against the healthy "
                     "period.", config=ZScoreParams, fit=_fit, dump=_dump, load=_load)
