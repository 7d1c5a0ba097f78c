"""Seeded train/dev/test DocBin splits of a brat corpus, for `evaluate-utility` on real text.

    python benchmarks/brat_splits.py ../shared/data/maccrobat2020/MACCROBAT2020 /tmp/maccrobat \
        --labels Sign_symptom,Disease_disorder,Medication,Dosage,Diagnostic_procedure,Lab_value,\
Therapeutic_procedure,Date,Age --rename Date=DATE,Age=AGE --dev 20 --test 40 --seed 0

Keeps the annotations of `--labels` (others are dropped); of two overlapping ones the earlier (the
longer when they start together) is kept, as the reader's "skip" mode does, and the counts of what was
dropped are printed. `--rename` maps corpus labels to ours, so that the corpus's PHI (MACCROBAT's Date
and Age) is what `synth_notes` replaces. Writes train.spacy, dev.spacy, test.spacy and splits.json
(the document ids of each split) under the output directory; the corpus itself is not copied anywhere else.
"""

import argparse
import json
import random
from collections import Counter
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.tokens import Doc, DocBin, Span

from spacy_synthnotes.extensions import NOTE_META
from spacy_synthnotes.readers import BratCorpus


def parse_map(text: str) -> Dict[str, str]:
    pairs = [item.split("=", 1) for item in text.split(",") if item]
    if any(len(pair) != 2 or not all(pair) for pair in pairs):
        raise SystemExit(f"--rename must look like Date=DATE,Age=AGE, got {text!r}")
    return dict(pairs)


def renamed(doc: Doc, mapping: Dict[str, str]) -> Doc:
    doc.ents = [Span(doc, e.start, e.end, label=mapping.get(e.label_, e.label_)) for e in doc.ents]
    return doc


def problem_kind(problem: str) -> str:
    for kind in ("unknown label", "overlaps", "discontinuous", "token boundaries"):
        if kind in problem:
            return kind
    return "other"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", type=Path, help="brat directory (.txt files with their .ann)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--labels", required=True, help="comma-separated corpus labels to keep")
    parser.add_argument("--rename", default="", help="corpus=ours pairs, comma-separated")
    parser.add_argument("--dev", type=int, default=20, help="documents in the dev split")
    parser.add_argument("--test", type=int, default=40, help="documents in the test split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    corpus = BratCorpus(args.corpus, labels=args.labels.split(","), on_error="skip")
    mapping = parse_map(args.rename)
    docs: List[Doc] = [renamed(doc, mapping) for doc in corpus.docs(spacy.blank("en"))]
    if len(docs) <= args.dev + args.test:
        raise SystemExit(
            f"{args.corpus}: {len(docs)} documents, not enough for {args.dev} dev + {args.test} test"
        )
    random.Random(args.seed).shuffle(docs)
    splits = {
        "test": docs[: args.test],
        "dev": docs[args.test : args.test + args.dev],
        "train": docs[args.test + args.dev :],
    }
    args.output.mkdir(parents=True, exist_ok=True)
    for name, split in splits.items():
        DocBin(docs=split, store_user_data=True).to_disk(args.output / f"{name}.spacy")
    ids = {name: [d._.get(NOTE_META)["id"] for d in split] for name, split in splits.items()}
    (args.output / "splits.json").write_text(json.dumps(ids, indent=2), encoding="utf8")
    kept = Counter(e.label_ for d in docs for e in d.ents)
    dropped = Counter(problem_kind(p.problem) for p in corpus.problems)
    print(json.dumps({"documents": {k: len(v) for k, v in splits.items()}, "entities": kept}, indent=2))
    print(f"dropped annotations: {len(corpus.problems)} ({dict(dropped)})")


if __name__ == "__main__":
    main()
