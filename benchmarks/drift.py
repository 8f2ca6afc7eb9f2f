"""Drift statistics on 1M reference x 1M current x 20 features: Andon vs SciPy vs Evidently.

Run from the repository root::

    .venv/bin/python benchmarks/drift.py                      # 1M x 1M x 20, ~4 min
    .venv/bin/python benchmarks/drift.py --rows 100000        # a quick look
    .venv/bin/python benchmarks/drift.py --evidently-python none   # without Evidently/River

Evidently and River are benchmark-only dependencies in an environment of their own
(Evidently needs pandas < 3)::

    python3 -m venv /work/venv-evidently
    /work/venv-evidently/bin/pip install evidently 'pandas<3' river

Every measurement runs in a fresh subprocess that generates the same seeded inputs (the
parent checks their checksums agree), so each peak memory figure is that computation's own
(``ru_maxrss``; "above inputs" subtracts the resident size once the inputs exist):

* ``andon exact``: ``andon.drift.drift_statistics``: PSI, KS and Wasserstein per feature;
* ``andon sketch``: what a monitor does: reference sketches built per feature
  (``BinnedSketch.from_reference``, 64 bins), the current data counted into sketches and the
  three statistics read from the sketches (approximate; the error against exact is printed);
* ``scipy loop``: ``scipy.stats.ks_2samp`` and ``scipy.stats.wasserstein_distance`` per
  feature (no PSI: SciPy has none);
* ``evidently preset``: ``Report([DataDriftPreset()])`` on the two DataFrames (its default
  test for 1M numeric rows is the Wasserstein distance normed by the reference's standard
  deviation; its figure is checked against Andon's exact Wasserstein / std).

KS and Wasserstein must equal SciPy's to 1e-9 and Evidently's normed Wasserstein to 1e-9
(exit status 1 otherwise). Streaming: the rate of ``update`` per value on one error stream
(1M values, 10 % errors, 30 % from the middle on) for River's ``ADWIN`` and Andon's
``ADWIN`` and ``PageHinkley``, and the covariate window detectors' update rate per feature.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIFTED = (1, 4, 7, 10, 13)  # features whose current data moved


def inputs(rows: int, features: int, seed: int):  # type: ignore[no-untyped-def]  # noqa: ANN201
    """The seeded reference and current arrays (rows x features), float64."""
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 20.0, size=features)
    loc = rng.uniform(-100.0, 100.0, size=features)
    ref = rng.standard_normal((rows, features))
    ref *= scale
    ref += loc
    cur = rng.standard_normal((rows, features))
    cur *= scale
    cur += loc
    for j in SHIFTED:
        if j < features:
            cur[:, j] += 0.1 * scale[j] * (1 + j % 3)
    return ref, cur


def error_stream(n: int, seed: int):  # type: ignore[no-untyped-def]  # noqa: ANN201
    import numpy as np  # noqa: PLC0415

    rng = np.random.default_rng(seed + 1)
    p = np.where(np.arange(n) < n // 2, 0.1, 0.3)
    return (rng.random(n) < p).astype(np.float64)


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def worker(name: str, rows: int, features: int, seed: int,  # noqa: C901, PLR0912, PLR0915
           stream_n: int) -> dict:  # type: ignore[type-arg]  # one branch per measurement
    import numpy as np  # noqa: PLC0415

    ref, cur = inputs(rows, features, seed)
    out: dict = {"checksum": float(ref[::997].sum() + cur[::991].sum())}  # type: ignore[type-arg]
    base = rss_kib()  # measured again after each computation's imports
    t0 = time.perf_counter()
    if name == "andon-exact":
        sys.path.insert(0, str(ROOT / "src"))
        from andon.drift import drift_statistics  # noqa: PLC0415

        base = rss_kib()

        t0 = time.perf_counter()
        d = drift_statistics(ref, cur)
        out["seconds"] = time.perf_counter() - t0
        out.update(psi=d.psi.tolist(), ks=d.ks.tolist(), wasserstein=d.wasserstein.tolist(),
                   ref_std=np.std(ref, axis=0).tolist())
    elif name == "andon-sketch":
        sys.path.insert(0, str(ROOT / "src"))
        from andon.drift import BinnedSketch, ks, psi, wasserstein  # noqa: PLC0415

        base = rss_kib()

        t0 = time.perf_counter()
        stats = []
        nbytes = 0
        for j in range(features):
            reference = BinnedSketch.from_reference(ref[:, j])
            current = reference.empty()
            for start in range(0, rows, 100_000):  # streamed in as the data arrives
                current.update_many(cur[start:start + 100_000, j])
            nbytes += reference.nbytes + current.nbytes
            stats.append((psi(reference, current), ks(reference, current),
                          wasserstein(reference, current)))
        out["seconds"] = time.perf_counter() - t0
        out.update(psi=[s[0] for s in stats], ks=[s[1] for s in stats],
                   wasserstein=[s[2] for s in stats], sketch_bytes=nbytes)
    elif name == "scipy":
        from scipy import stats as sst  # noqa: PLC0415

        base = rss_kib()

        t0 = time.perf_counter()
        ks_, w_ = [], []
        for j in range(features):
            ks_.append(float(sst.ks_2samp(ref[:, j], cur[:, j]).statistic))
            w_.append(float(sst.wasserstein_distance(ref[:, j], cur[:, j])))
        out["seconds"] = time.perf_counter() - t0
        out.update(ks=ks_, wasserstein=w_)
    elif name == "evidently":
        import pandas as pd  # noqa: PLC0415
        from evidently import DataDefinition, Dataset, Report  # noqa: PLC0415
        from evidently.presets import DataDriftPreset  # noqa: PLC0415

        base = rss_kib()

        cols = [f"f{j}" for j in range(features)]
        t0 = time.perf_counter()  # from the DataFrames on (building them is Evidently's cost)
        dd = DataDefinition(numerical_columns=cols)
        ref_ds = Dataset.from_pandas(pd.DataFrame(ref, columns=cols), data_definition=dd)
        cur_ds = Dataset.from_pandas(pd.DataFrame(cur, columns=cols), data_definition=dd)
        snapshot = Report([DataDriftPreset()]).run(current_data=cur_ds, reference_data=ref_ds)
        result = snapshot.dict()
        out["seconds"] = time.perf_counter() - t0
        normed = {}
        for m in result["metrics"]:
            cfg = m.get("config", {})
            if cfg.get("type", "").endswith("ValueDrift"):
                normed[cfg["column"]] = (cfg.get("method"), m["value"])
        out["method"] = sorted({v[0] for v in normed.values()})
        out["normed_wasserstein"] = [float(normed[c][1]) for c in cols]
        import evidently  # noqa: PLC0415

        out["version"] = evidently.__version__
    elif name == "river":
        import river  # noqa: PLC0415
        from river.drift import ADWIN  # noqa: PLC0415

        xs = error_stream(stream_n, seed).tolist()
        det = ADWIN()
        alarms = 0
        t0 = time.perf_counter()
        for x in xs:
            det.update(x)
            alarms += det.drift_detected
        out["seconds"] = time.perf_counter() - t0
        out.update(rate=stream_n / out["seconds"], alarms=alarms, version=river.__version__)
    elif name == "andon-stream":
        sys.path.insert(0, str(ROOT / "src"))
        from andon.drift import (  # noqa: PLC0415
            ADWIN,
            BinnedSketch,
            KsDetector,
            PageHinkley,
        )

        arr = error_stream(stream_n, seed)
        xs = arr.tolist()
        rates = {}
        for label, det in (("adwin", ADWIN()),
                           ("page_hinkley", PageHinkley(threshold=50.0, delta=0.05))):
            t0 = time.perf_counter()
            alarms = 0
            for x in xs:
                alarms += det.update(x)
            rates[label] = (stream_n / (time.perf_counter() - t0), alarms)
            det2 = type(det)() if label == "adwin" else PageHinkley(threshold=50.0, delta=0.05)
            t0 = time.perf_counter()
            det2.update_many(arr)
            rates[label + "_many"] = (stream_n / (time.perf_counter() - t0), det2.alarms)
        reference = BinnedSketch.from_reference(ref[:, 0])
        ks_det = KsDetector(reference, window=1_000, threshold=0.1)
        col = cur[:, 0]
        t0 = time.perf_counter()
        for x in col[:200_000].tolist():
            ks_det.update(x)
        rates["ks_window_update"] = (200_000 / (time.perf_counter() - t0), ks_det.alarms)
        ks_det = KsDetector(reference, window=1_000, threshold=0.1)
        t0 = time.perf_counter()
        for start in range(0, rows, 1_000):  # a batch per window, as an edge would hand it
            ks_det.update_many(col[start:start + 1_000])
        rates["ks_window_update_many"] = (rows / (time.perf_counter() - t0), ks_det.alarms)
        out["rates"] = rates
        out["seconds"] = 0.0
    else:
        raise SystemExit(f"unknown worker {name}")
    out["peak_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out["inputs_kib"] = base
    return out


def run(python: str, name: str, args: argparse.Namespace) -> dict | str:  # type: ignore[type-arg]
    cmd = [python, __file__, "--worker", name, "--rows", str(args.rows), "--features",
           str(args.features), "--seed", str(args.seed), "--stream", str(args.stream)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False,  # noqa: S603
                          timeout=3_600)
    if proc.returncode != 0:
        return f"failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else '?'}"
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> int:  # noqa: C901, PLR0912, PLR0915 - one report, read top to bottom
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--features", type=int, default=20)
    p.add_argument("--seed", type=int, default=14)
    p.add_argument("--stream", type=int, default=1_000_000, help="error stream length")
    p.add_argument("--evidently-python", default="/work/venv-evidently/bin/python",
                   help="python of the environment with evidently and river ('none': skip)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.rows, args.features, args.seed, args.stream)))
        return 0

    import numpy as np  # noqa: PLC0415

    print(f"python {platform.python_version()}, numpy {np.__version__}, {os.cpu_count()} cpus,"
          f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at start")
    print(f"inputs: {args.rows:,} reference x {args.rows:,} current rows x {args.features} "
          f"features (float64), features {list(SHIFTED)} shifted, seed {args.seed}")
    me = sys.executable
    other = None if args.evidently_python == "none" else args.evidently_python
    if other and not Path(other).exists():
        print(f"evidently/river: {other} does not exist: skipped")
        other = None
    results: dict[str, dict | str] = {}  # type: ignore[type-arg]
    for name, python in (("andon-exact", me), ("andon-sketch", me), ("scipy", me),
                         ("evidently", other), ("andon-stream", me), ("river", other)):
        if python is None:
            results[name] = "skipped: no evidently/river environment"
            continue
        t = time.perf_counter()
        results[name] = run(python, name, args)
        print(f"  {name}: done in {time.perf_counter() - t:.1f} s", flush=True)
    ok = True
    sums = {r["checksum"] for r in results.values() if isinstance(r, dict) and "checksum" in r}
    if len(sums) != 1:
        print(f"INPUTS DIFFER between processes: checksums {sums}")
        ok = False

    base = results["andon-exact"]
    assert isinstance(base, dict)
    print("\n| computation | seconds | x andon exact | peak RSS MiB | peak above inputs MiB |")
    print("|---|---:|---:|---:|---:|")
    for name in ("andon-exact", "andon-sketch", "scipy", "evidently"):
        r = results[name]
        if isinstance(r, str):
            print(f"| {name} | {r} | | | |")
            continue
        print(f"| {name} | {r['seconds']:.2f} | {r['seconds'] / base['seconds']:.1f} | "
              f"{r['peak_kib'] / 1024:.0f} | {(r['peak_kib'] - r['inputs_kib']) / 1024:.0f} |")
    sk = results["andon-sketch"]
    if isinstance(sk, dict):
        err = {k: float(np.max(np.abs(np.subtract(sk[k], base[k]))))
               for k in ("psi", "ks", "wasserstein")}
        w_rel = float(np.max(np.abs(np.subtract(sk["wasserstein"], base["wasserstein"]))
                             / np.asarray(base["ref_std"])))
        print(f"\nsketch vs exact, largest difference: psi {err['psi']:.2e}, ks {err['ks']:.2e}, "
              f"wasserstein {err['wasserstein']:.2e} ({w_rel:.2e} of the feature's sd) "
              "(psi is exact by construction); "
              f"sketches hold {sk['sketch_bytes']:,} bytes for {args.features} features")
    sp = results["scipy"]
    if isinstance(sp, dict):
        dks = float(np.max(np.abs(np.subtract(sp["ks"], base["ks"]))))
        dw = float(np.max(np.abs(np.subtract(sp["wasserstein"], base["wasserstein"]))))
        print(f"andon exact vs scipy, largest difference: ks {dks:.1e}, wasserstein {dw:.1e}")
        ok &= dks <= 1e-9 and dw <= 1e-9
    ev = results["evidently"]
    if isinstance(ev, dict):
        ours = np.divide(base["wasserstein"], np.maximum(base["ref_std"], 0.001))
        dev = float(np.max(np.abs(ours - ev["normed_wasserstein"])))
        print(f"andon exact vs evidently {ev['version']} ({', '.join(ev['method'])}), largest "
              f"difference: {dev:.1e}")
        ok &= dev <= 1e-9
        above = (base["peak_kib"] - base["inputs_kib"]) / (ev["peak_kib"] - ev["inputs_kib"])
        print(f"ratios: evidently / andon exact time {ev['seconds'] / base['seconds']:.0f}x "
              f"(target >= 100x), andon exact / evidently peak memory "
              f"{base['peak_kib'] / ev['peak_kib']:.3f} (target <= 0.1), above inputs "
              f"{above:.3f}")
    if isinstance(sp, dict):
        print(f"ratios: scipy loop / andon exact time {sp['seconds'] / base['seconds']:.1f}x "
              "(target >= 5x)")
    st, rv = results["andon-stream"], results["river"]
    if isinstance(st, dict):
        print(f"\nstreaming, {args.stream:,} values (error stream 10 % -> 30 % at the middle):")
        print("| detector | updates/s | alarms | x river adwin |")
        print("|---|---:|---:|---:|")
        river_rate = rv["rate"] if isinstance(rv, dict) else None
        rows = [("river ADWIN (update per value)", rv["rate"], rv["alarms"])] \
            if isinstance(rv, dict) else []
        names = {"adwin": "andon ADWIN (update per value)",
                 "adwin_many": "andon ADWIN (update_many)",
                 "page_hinkley": "andon PageHinkley (update per value)",
                 "page_hinkley_many": "andon PageHinkley (update_many)",
                 "ks_window_update": "andon KsDetector, one feature (update per value)",
                 "ks_window_update_many": "andon KsDetector, one feature (update_many per "
                                          "1,000-value window)"}
        rows += [(names[k], v[0], v[1]) for k, v in st["rates"].items()]
        for label, rate, alarms in rows:
            ratio = f"{rate / river_rate:.2f}" if river_rate else "-"
            print(f"| {label} | {rate:,.0f} | {alarms} | {ratio} |")
    print(f"\nload average {' '.join(f'{x:.2f}' for x in os.getloadavg())} at the end")
    if not ok:
        print("FAILED: statistics differ beyond 1e-9 or inputs differ")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
