"""Corpus-scale synthesis: notes/s and peak memory against corpus size, process count and backend.

    python benchmarks/scale.py --sizes 1000 10000 100000 --pipeline training/synth_surrogate \
        [--mlm-pipeline training/synth_masked_infill --mlm-sizes 1000] [--output metrics/scale.json]

Each measurement runs `synthesize --shard-size` in a fresh process on a JSONL corpus of demo notes (built
once per size with the seeded demo builder) and reports wall time, notes/s and peak resident memory:
of the main process (its VmHWM), of its largest descendant (a pool worker, or a Ray worker or Ray system
process: each one's VmHWM, sampled every half second), and of all of them together (the largest sum of
their resident sizes at one sample). Flat memory and constant notes/s across sizes mean cost grows
linearly with the corpus.
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List

import srsly

from spacy_synthnotes.demo import DemoCorpusBuilder

CHILD = """
import json, os, sys, threading, time
from spacy_synthnotes.sharded import synthesize_sharded


def status(pid):
    try:
        with open(f"/proc/{pid}/status") as file_:
            return {l.split(":")[0]: int(l.split()[1]) for l in file_ if l.startswith(("VmHWM", "VmRSS"))}
    except OSError:  # the process ended between listing and reading
        return {}


def descendants(root):
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as file_:
                    parents[int(entry)] = int(file_.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = [], [root]
    while frontier:
        kids = [pid for pid, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def sample(stop, peaks, total):
    # Pool and Ray workers are descendants of this process (Ray's via its raylet). VmHWM is each
    # process's own high-water mark, so the last sample before a worker exits holds its peak.
    while not stop.is_set():
        now = 0
        for pid in descendants(os.getpid()):
            kb = status(pid)
            if kb:
                peaks[pid] = max(peaks.get(pid, 0), kb["VmHWM"])
                now += kb["VmRSS"]
        total[0] = max(total[0], now + status(os.getpid()).get("VmRSS", 0))
        stop.wait(0.5)


pipeline, corpus, out, n_process, backend = sys.argv[1:6]
stop, peaks, total = threading.Event(), {}, [0]
sampler = threading.Thread(target=sample, args=(stop, peaks, total), daemon=True)
sampler.start()
start = time.perf_counter()
totals = synthesize_sharded(pipeline, corpus, out, shard_size=500, n_process=int(n_process), backend=backend)
seconds = time.perf_counter() - start
stop.set()
sampler.join()
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec, so this process's figure would start
# at the parent's resident size (the parent that built the corpus), however little this run uses.
main_kb = status(os.getpid())["VmHWM"]
print(json.dumps({
    "notes": totals["written"],
    "seconds": seconds,
    "peak_rss_mb": main_kb / 1024,
    "worker_peak_rss_mb": max(peaks.values()) / 1024 if peaks else None,
    "total_peak_rss_mb": total[0] / 1024,
}))
"""


def corpus(size: int, folder: Path) -> Path:
    path = folder / f"notes-{size}.jsonl"
    if not path.exists():
        records = DemoCorpusBuilder(seed=size).notes(size)
        srsly.write_jsonl(
            path, ({"text": r["text"], "spans": r["spans"], "meta": r["meta"]} for r in records)
        )
    return path


def measure(pipeline: str, data: Path, n_process: int, backend: str, work: Path) -> Dict:
    out = work / f"out-{time.time_ns()}"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, pipeline, str(data), str(out), str(n_process), backend],
        capture_output=True,
        text=True,
        check=True,
    )
    row = json.loads(result.stdout.strip().splitlines()[-1])
    row["notes_per_s"] = row["notes"] / row["seconds"]
    return row


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--pipeline", default="training/synth_surrogate")
    parser.add_argument(
        "--sizes", type=int, nargs="*", default=[1000, 10000, 100000], help="surrogate sizes; none: skip"
    )
    parser.add_argument("--mlm-pipeline", default=None)
    parser.add_argument("--mlm-sizes", type=int, nargs="+", default=[1000])
    parser.add_argument(
        "--processes", type=int, nargs="*", default=[1, 2], help="local process counts; none: Ray only"
    )
    parser.add_argument("--ray", action="store_true", help="also measure the Ray backend")
    parser.add_argument("--output", type=Path, default=Path("metrics/scale.json"))
    args = parser.parse_args()
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plans = [("surrogate", args.pipeline, size) for size in args.sizes]
        if args.mlm_pipeline:
            plans += [("masked_infill", args.mlm_pipeline, size) for size in args.mlm_sizes]
        print(
            "generator | notes | backend | processes | seconds | notes/s | peak RSS MB (main / worker / all)"
        )
        for generator, pipeline, size in plans:
            data = corpus(size, work)
            setups = [("local", n) for n in args.processes] + ([("ray", 2)] if args.ray else [])
            for backend, n_process in setups:
                row = {
                    "generator": generator,
                    "size": size,
                    "backend": backend,
                    "n_process": n_process,
                    **measure(pipeline, data, n_process if backend == "local" else 1, backend, work),
                }
                rows.append(row)
                worker = "-" if row["worker_peak_rss_mb"] is None else f"{row['worker_peak_rss_mb']:.0f}"
                print(
                    f"| {generator} | {size} | {backend} | {n_process} | {row['seconds']:.1f} | "
                    f"{row['notes_per_s']:.1f} | {row['peak_rss_mb']:.0f} / {worker} / "
                    f"{row['total_peak_rss_mb']:.0f} |",
                    flush=True,
                )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
