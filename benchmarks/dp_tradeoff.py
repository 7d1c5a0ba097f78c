"""Privacy-utility trade-off of the entity-conditioned generator under DP-SGD.

    python benchmarks/dp_tradeoff.py --epsilons 1 4 8 inf [--epochs 5] [--eval-notes 20] \
        [--output metrics/dp_tradeoff.json]

Trains `configs/causal_small.cfg` on the demo corpus (corpus/demo, written by
`python -m spacy_synthnotes demo-corpus corpus/demo`) once per epsilon ("inf":
no DP), then generates notes for the first test notes and reports: dev
perplexity of the best epoch, mean seconds per epoch (and the ratio to the
non-private run), the epsilon the accountant reports, and entity coverage (the
share of the plan's entities found in the note), with constrained decoding (the
default) and without it (what the model writes on its own).
"""

import argparse
import json
import math
import tempfile
from pathlib import Path
from typing import Dict, List

import spacy

from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.training.causal import train_causal
from spacy_synthnotes.training.common import load_config

MODEL = {
    "tokenizer.vocab_size": 4000,
    "model.hidden_size": 128,
    "model.num_layers": 3,
    "model.num_heads": 4,
    "model.intermediate_size": 384,
    "model.max_length": 768,
    "training.batch_size": 16,
}


def coverage(model: Path, docs, constrained: bool, max_new_tokens: int) -> Dict[str, float]:
    nlp = spacy.blank("en")
    generator = {
        "@misc": "spacy_synthnotes.EntityConditioned.v1",
        "model": str(model),
        "constrained": constrained,
        "max_new_tokens": max_new_tokens,
    }
    nlp.add_pipe("synth_notes", config={"generator": generator, "seed": 0})
    written = wanted = unknown = 0
    for doc in nlp.pipe(docs):
        report = doc._.synthetic_report
        written += report["entities_written"]
        wanted += report["entities_written"] + report["entities_missing"]
        unknown += report["unknown_markers"]
    return {"coverage": written / max(wanted, 1), "entities": wanted, "unknown_markers": unknown}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--epsilons", nargs="+", default=["1", "4", "8", "inf"])
    parser.add_argument("--corpus", type=Path, default=Path("corpus/demo"))
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--eval-notes", type=int, default=20)
    parser.add_argument("--max-new-tokens", type=int, default=560)
    parser.add_argument("--output", type=Path, default=Path("metrics/dp_tradeoff.json"))
    args = parser.parse_args()
    test = list(DocBinCorpus(args.corpus / "test.spacy", limit=args.eval_notes).docs(spacy.blank("en")))
    rows: List[Dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for eps in args.epsilons:
            epsilon = math.inf if eps == "inf" else float(eps)
            overrides = {
                **MODEL,
                "paths.train": str(args.corpus / "train.spacy"),
                "paths.dev": str(args.corpus / "dev.spacy"),
                "training.epochs": args.epochs,
                "training.privacy.target_epsilon": None if math.isinf(epsilon) else epsilon,
            }
            config = load_config(Path("configs/causal_small.cfg"), overrides)
            output = Path(tmp) / f"eps-{eps}"
            meta = train_causal(config, output, log=lambda m: None)
            best = output / "model-best"
            epochs = [h["epoch_seconds"] for h in meta["history"]]
            row = {
                "target_epsilon": eps,
                "epsilon": meta["privacy"]["epsilon"] if meta["privacy"] else None,
                "delta": meta["privacy"]["delta"] if meta["privacy"] else None,
                "noise_multiplier": meta["privacy"]["noise_multiplier"] if meta["privacy"] else None,
                "dev_perplexity": meta["best_dev_perplexity"],
                "seconds_per_epoch": sum(epochs) / len(epochs),
                "constrained": coverage(best, test, True, args.max_new_tokens),
                "unconstrained": coverage(best, test, False, args.max_new_tokens),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
    base = next((r for r in rows if r["target_epsilon"] == "inf"), None)
    print(
        "\n| target ε | ε (accountant) | noise σ | dev ppl | s/epoch | × non-DP | coverage | unconstrained |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        ratio = r["seconds_per_epoch"] / base["seconds_per_epoch"] if base else float("nan")
        r["time_ratio"] = ratio
        eps = "∞" if r["epsilon"] is None else f"{r['epsilon']:.2f}"
        sigma = "-" if r["noise_multiplier"] is None else f"{r['noise_multiplier']:.2f}"
        print(
            f"| {r['target_epsilon']} | {eps} | {sigma} | {r['dev_perplexity']:.1f} | "
            f"{r['seconds_per_epoch']:.1f} | {ratio:.2f} | {r['constrained']['coverage']:.3f} | "
            f"{r['unconstrained']['coverage']:.3f} |"
        )
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(rows, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
