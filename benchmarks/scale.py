"""Corpus-scale synthesis: notes/s and peak memory against corpus size, process count and backend.

    python benchmarks/scale.py --sizes 1000 10000 100000 --pipeline training/synth_surrogate \
        [--mlm-pipeline training/synth_masked_infill --mlm-sizes 1000] [--output metrics/scale.json]

Each measurement runs `synthesize --shard-size` in a fresh process on a JSONL corpus of demo notes (built
once per size with the seeded demo builder) and reports wall time, notes/s and the peak resident memory
of that process (its VmHWM) and of its pool workers (Ray workers are separate processes and are not
included). Flat memory
and constant notes/s across sizes mean cost grows linearly with the corpus.
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
import json, resource, sys, time
from spacy_synthnotes.sharded import synthesize_sharded
pipeline, corpus, out, n_process, backend = sys.argv[1:6]
start = time.perf_counter()
totals = synthesize_sharded(pipeline, corpus, out, shard_size=500, n_process=int(n_process), backend=backend)
seconds = time.perf_counter() - start
# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across fork + exec, so this process's figure would start
# at the parent's resident size (the parent that built the corpus), however little this run uses.
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM"))
rss = max(hwm, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
print(json.dumps({"notes": totals["written"], "seconds": seconds, "peak_rss_mb": rss / 1024}))
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
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2], help="local process counts")
    parser.add_argument("--ray", action="store_true", help="also measure the Ray backend")
    parser.add_argument("--output", type=Path, default=Path("metrics/scale.json"))
    args = parser.parse_args()
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        plans = [("surrogate", args.pipeline, size) for size in args.sizes]
        if args.mlm_pipeline:
            plans += [("masked_infill", args.mlm_pipeline, size) for size in args.mlm_sizes]
        print("generator | notes | backend | processes | seconds | notes/s | peak RSS MB")
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
                print(
                    f"| {generator} | {size} | {backend} | {n_process} | {row['seconds']:.1f} | "
                    f"{row['notes_per_s']:.1f} | {row['peak_rss_mb']:.0f} |",
                    flush=True,
                )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
