"""Run a `project.yml` workflow step by step and print the wall time of each step (and JSON).

`spacy project run all` runs the same commands in the same order; this script only adds the clock.
    python benchmarks/workflow.py all --output metrics/workflow_all.json
    python benchmarks/workflow.py all --project-dir /tmp/copy --vars.n_notes 120   # vars pass through
Steps whose outputs are up to date are skipped by spaCy (and timed as such); use a clean copy of the
project for a cold-run figure.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import srsly

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("workflow")
    parser.add_argument("--project-dir", type=Path, default=ROOT)
    parser.add_argument("--output", type=Path, default=None)
    args, passthrough = parser.parse_known_args()
    project = srsly.read_yaml(args.project_dir / "project.yml")
    steps = project["workflows"][args.workflow]
    times = []
    total = time.time()
    for step in steps:
        start = time.time()
        command = [sys.executable, "-m", "spacy", "project", "run", step, str(args.project_dir), *passthrough]
        result = subprocess.run(command, capture_output=True, text=True)
        seconds = time.time() - start
        skipped = f"Skipping '{step}'" in result.stdout
        times.append({"step": step, "seconds": round(seconds, 1), "skipped": skipped})
        print(f"{step:<24} {seconds:8.1f} s{'  (skipped: up to date)' if skipped else ''}", flush=True)
        if result.returncode:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            sys.exit(f"step {step} failed with exit code {result.returncode}")
    elapsed = time.time() - total
    print(f"{'total':<24} {elapsed:8.1f} s ({elapsed / 60:.1f} min)")
    report = {
        "workflow": args.workflow,
        "vars": passthrough,
        "steps": times,
        "total_seconds": round(elapsed, 1),
    }
    print(json.dumps(report))
    if args.output:
        srsly.write_json(args.output, report)


if __name__ == "__main__":
    main()
