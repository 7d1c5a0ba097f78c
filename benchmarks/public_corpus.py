"""A public pretraining corpus for the entity-conditioned recipe, with labels mapped to the demo's.

    python benchmarks/public_corpus.py ../shared/data /tmp/public --dev 60 --seed 0

Reads MACCROBAT2020 (case reports), NCBI Disease (abstracts, all three splits) and the Presidio
synthetic PII sentences from a `../shared/data`-style folder (each one that is present), maps their
labels onto the demo corpus's (MACCROBAT's Sign_symptom and Disease_disorder and NCBI's four disease
types -> PROBLEM, Medication -> DRUG, Dosage -> DOSE, Diagnostic_procedure -> TEST,
Therapeutic_procedure -> PROCEDURE, Date/Age -> DATE/AGE; Presidio's types as `phi_recall.py` maps
them, persons as PATIENT), drops the other labels, sets the note type to "case report", "abstract" or
"text", and writes a seeded train.spacy / dev.spacy split. None of it is private, so a model pretrained
on it without DP (`train-causal ... --paths.train /tmp/public/train.spacy`) can start the DP recipe
(`--paths.init .../model-best`): the guarantee then covers the fine-tuning notes, and the tokenizer is
learned from public text too. The corpora are read, not copied anywhere else.
"""

import argparse
import json
import random
from collections import Counter
from pathlib import Path
from typing import Dict, List, Tuple

import spacy
from phi_recall import presidio_docs
from spacy.language import Language
from spacy.tokens import Doc, DocBin, Span

from spacy_synthnotes.extensions import NOTE_META, install_extensions
from spacy_synthnotes.readers import BratCorpus

MACCROBAT_LABELS = {
    "Sign_symptom": "PROBLEM",
    "Disease_disorder": "PROBLEM",
    "Medication": "DRUG",
    "Dosage": "DOSE",
    "Diagnostic_procedure": "TEST",
    "Therapeutic_procedure": "PROCEDURE",
    "Date": "DATE",
    "Age": "AGE",
}
NCBI_LABELS = {
    label: "PROBLEM" for label in ("SpecificDisease", "DiseaseClass", "Modifier", "CompositeMention")
}
# phi_recall.presidio_docs already maps Presidio's types; these are the ones the demo corpus has.
PRESIDIO_LABELS = {
    label: label for label in ("PATIENT", "STREET", "CITY", "DATE", "PHONE", "AGE", "EMAIL", "ZIP")
}


def relabeled(doc: Doc, mapping: Dict[str, str], note_type: str, doc_id: str) -> Doc:
    """`doc` with only the entities `mapping` knows, renamed, and its note type and id in the meta."""
    doc.ents = [Span(doc, e.start, e.end, label=mapping[e.label_]) for e in doc.ents if e.label_ in mapping]
    doc._.set(NOTE_META, {"id": doc_id, "note_type": note_type})
    return doc


Source = Tuple[str, Path, Dict[str, str], str]


def sources(shared: Path) -> List[Source]:
    """(name, path, label map, note type) of each corpus this script knows."""
    ncbi = shared / "ncbi_disease" / "standoff"
    return [
        ("maccrobat", shared / "maccrobat2020" / "MACCROBAT2020", MACCROBAT_LABELS, "case report"),
        *[(f"ncbi-{split}", ncbi / split, NCBI_LABELS, "abstract") for split in ("train", "devel", "test")],
        ("presidio", shared / "presidio_synth_pii" / "synth_dataset_v2.json", PRESIDIO_LABELS, "text"),
    ]


def read(path: Path, mapping: Dict[str, str], nlp: Language) -> List[Doc]:
    """A brat folder's documents (only `mapping`'s labels), or the Presidio JSON's."""
    if path.is_dir():
        return list(BratCorpus(path, labels=list(mapping), on_error="skip").docs(nlp))
    return presidio_docs(path, nlp)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("shared", type=Path, help="folder holding the public corpora (../shared/data)")
    parser.add_argument("output", type=Path)
    parser.add_argument("--dev", type=int, default=60, help="documents in the dev split")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    install_extensions()
    nlp = spacy.blank("en")
    docs: List[Doc] = []
    for name, path, mapping, note_type in sources(args.shared):
        if not path.exists():
            print(f"not found, left out: {path}")
            continue
        found = [
            relabeled(doc, mapping, note_type, f"{name}-{i}")
            for i, doc in enumerate(read(path, mapping, nlp))
        ]
        print(f"{path}: {len(found)} documents")
        docs += found
    if len(docs) <= args.dev:
        raise SystemExit(f"{args.shared}: {len(docs)} documents found, not enough for {args.dev} dev")
    random.Random(args.seed).shuffle(docs)
    args.output.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs[args.dev :], store_user_data=True).to_disk(args.output / "train.spacy")
    DocBin(docs=docs[: args.dev], store_user_data=True).to_disk(args.output / "dev.spacy")
    summary = {
        "documents": {"train": len(docs) - args.dev, "dev": args.dev},
        "tokens": sum(len(doc) for doc in docs),
        "entities": Counter(e.label_ for doc in docs for e in doc.ents),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
