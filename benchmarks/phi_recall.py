"""PHI detection recall/precision and residual-PHI leftovers on the demo test split and real corpora.

    python benchmarks/phi_recall.py --demo corpus/demo/test.spacy [--ner training/ner/model-best] \
        [--shared ../shared/data] [--corpora demo-test presidio ...] [--output metrics/phi_recall.json] \
        [--relative-dates]

Pipelines measured in one run: `rules` (synth_phi alone) and, with --ner, `ner+rules` (the trained NER
followed by synth_phi); with --relative-dates, synth_phi also marks relative dates ("3 days later").
Corpora: the demo test split (our labels), the Presidio synthetic PII set (types mapped with
PRESIDIO_MAP; its token figures are also given without the skip words of Presidio's own evaluator,
PRESIDIO_SKIP_WORDS), MACCROBAT2020's Date and Age annotations, and its calendar dates alone. For each
corpus the script also synthesizes every note with the PHI pipeline + synth_notes and counts identifier-
shaped strings of the source (shape patterns) still present in the synthetic text.
"""

import argparse
import ast
import json
import re
import time
from pathlib import Path
from typing import Dict, List

import spacy
from spacy.language import Language
from spacy.tokens import Doc

from spacy_synthnotes.labels import DEFAULT_PHI_LABELS
from spacy_synthnotes.phi.evaluate import PRESIDIO_SKIP_WORDS, evaluate_phi
from spacy_synthnotes.phi.patterns import find_shapes
from spacy_synthnotes.readers import BratCorpus, DocBinCorpus

# Presidio research types -> our labels. TITLE ("Mr.", job titles) and NRP (nationality) are not PHI.
PRESIDIO_MAP = {
    "PERSON": "PATIENT",
    "STREET_ADDRESS": "STREET",
    "GPE": "CITY",
    "ORGANIZATION": "ORGANIZATION",
    "DATE_TIME": "DATE",
    "PHONE_NUMBER": "PHONE",
    "AGE": "AGE",
    "EMAIL_ADDRESS": "EMAIL",
    "ZIP_CODE": "ZIP",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IPADDR",
    "CREDIT_CARD": "ACCOUNT",
    "IBAN_CODE": "ACCOUNT",
    "US_DRIVER_LICENSE": "LICENSE",
    "DOMAIN_NAME": "URL",
}
MACCROBAT_MAP = {"Date": "DATE", "Age": "AGE"}


def presidio_docs(path: Path, nlp: Language) -> List[Doc]:
    docs = []
    for index, record in enumerate(json.loads(path.read_text())):
        spans = record["spans"] if isinstance(record["spans"], list) else ast.literal_eval(record["spans"])
        doc = nlp.make_doc(record["full_text"])
        ents = []
        for span in sorted(spans, key=lambda s: s["start_position"]):
            label = PRESIDIO_MAP.get(span["entity_type"])
            if label is None:
                continue
            ent = doc.char_span(span["start_position"], span["end_position"], label, alignment_mode="expand")
            if ent is not None and all(ent.start >= e.end or ent.end <= e.start for e in ents):
                ents.append(ent)
        doc.ents = ents
        doc.user_data["id"] = f"presidio-{index}"
        docs.append(doc)
    return docs


# A calendar date names a month, writes a numeric date or a year: "November 18, 2015", "2012", "3/14".
# MACCROBAT's other Date annotations are relative ("3 days later", "postoperative day 9"), not identifiers.
CALENDAR_DATE = re.compile(
    r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\b|\b\d{1,4}[/-]\d{1,2}\b|"
    r"\b\d{1,2}\.\d{1,2}\.\d{2,4}\b|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)


def maccrobat_docs(path: Path, nlp: Language, calendar_only: bool = False) -> List[Doc]:
    """MACCROBAT's Date and Age annotations; with `calendar_only`, only its calendar dates."""
    corpus = BratCorpus(path, on_error="skip", alignment_mode="expand")
    docs = []
    for doc in corpus.docs(nlp):
        if calendar_only:
            doc.ents = [e for e in doc.ents if e.label_ == "Date" and CALENDAR_DATE.search(e.text)]
        else:
            doc.ents = [e for e in doc.ents if e.label_ in MACCROBAT_MAP]
        docs.append(doc)
    return docs


def is_identifier(value: str, label: str) -> bool:
    """Identifiers among shape matches: not ages under 90, not a year or a month name alone (one of 12
    values, which a note naming several months cannot avoid repeating: "June" shifted is "July")."""
    if label == "AGE":
        return int(value) > 89
    return not (label == "DATE" and (re.fullmatch(r"(?:19|20)\d\d", value) or value.isalpha()))


def residual_leftovers(nlp: Language, docs: List[Doc]) -> Dict[str, int]:
    """Identifier-shaped strings of each source note found verbatim in its synthetic note."""
    synth = spacy.blank("en", vocab=nlp.vocab)
    synth.add_pipe("synth_notes", config={"seed": 0})
    left, checked, residual = 0, 0, 0
    examples = []
    for source, annotated in zip(docs, nlp.pipe(d.text for d in docs)):
        out = synth(annotated)
        residual += out._.synthetic_report["residual_phi"]
        text = out._.synthetic.text
        matches = [
            m for m in find_shapes(source.text) if is_identifier(source.text[m.start : m.end], m.label)
        ]
        outside = list(source.text)
        for match in matches:
            outside[match.start : match.end] = " " * (match.end - match.start)
        outside_text = "".join(outside)
        for match in matches:
            value = source.text[match.start : match.end]
            pattern = re.compile(rf"(?<!\w){re.escape(value)}(?!\w)")
            checked += 1
            # Counted only beyond what the source's own non-identifier text explains ("MD" the credential).
            if len(pattern.findall(text)) > len(pattern.findall(outside_text)):
                left += 1
                examples.append(value)
    return {
        "source_identifiers": checked,
        "left_in_synthetic": left,
        "residual_replaced": residual,
        "examples": examples[:10],
    }


CORPORA = ["demo-test", "presidio", "maccrobat-date-age", "maccrobat-calendar-dates"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--demo", type=Path, default=Path("corpus/demo/test.spacy"))
    parser.add_argument("--ner", type=str, default=None, help="trained NER pipeline to put before synth_phi")
    parser.add_argument("--shared", type=Path, default=Path("../shared/data"))
    parser.add_argument("--output", type=Path, default=Path("metrics/phi_recall.json"))
    parser.add_argument("--corpora", nargs="+", choices=CORPORA, default=CORPORA, help="corpora to measure")
    parser.add_argument(
        "--relative-dates",
        action="store_true",
        help="synth_phi with relative_dates on (strict de-identification)",
    )
    args = parser.parse_args()

    blank = spacy.blank("en")
    corpora = {}
    if "demo-test" in args.corpora:
        corpora["demo-test"] = (list(DocBinCorpus(args.demo).docs(blank)), {})
    # The Presidio set is also scored as its own evaluator scores it: without its skip words.
    skip_words = {"presidio": PRESIDIO_SKIP_WORDS}
    presidio = args.shared / "presidio_synth_pii" / "synth_dataset_v2.json"
    if presidio.exists() and "presidio" in args.corpora:
        corpora["presidio"] = (presidio_docs(presidio, blank), {})
    maccrobat = args.shared / "maccrobat2020" / "MACCROBAT2020"
    if maccrobat.exists() and "maccrobat-date-age" in args.corpora:
        corpora["maccrobat-date-age"] = (maccrobat_docs(maccrobat, blank), MACCROBAT_MAP)
    if maccrobat.exists() and "maccrobat-calendar-dates" in args.corpora:
        calendar = maccrobat_docs(maccrobat, blank, calendar_only=True)
        corpora["maccrobat-calendar-dates"] = (calendar, MACCROBAT_MAP)

    pipelines: Dict[str, Language] = {}
    phi_config = {"relative_dates": args.relative_dates}
    rules = spacy.blank("en")
    rules.add_pipe("synth_phi", config=phi_config)
    pipelines["rules"] = rules
    if args.ner:
        combined = spacy.load(args.ner)
        combined.add_pipe("synth_phi", config=phi_config)
        pipelines["ner+rules"] = combined

    phi_labels = sorted(set(DEFAULT_PHI_LABELS))
    results: Dict[str, Dict] = {}
    rows = []
    for corpus_name, (docs, mapping) in corpora.items():
        for pipe_name, nlp in pipelines.items():
            start = time.time()
            scores = evaluate_phi(docs, nlp, phi_labels, mapping, skip_words=skip_words.get(corpus_name))
            leftovers = residual_leftovers(nlp, docs)
            seconds = time.time() - start
            per_label = scores["per_label"]
            results[f"{corpus_name}/{pipe_name}"] = {
                "hipaa": scores["hipaa"],
                "all": scores["all"],
                "per_label": per_label,
                "residual": leftovers,
                "seconds": round(seconds, 1),
                "misses": scores["misses"][:50],
            }
            date_age = {k: per_label.get(k, {}).get("entity_recall_partial") for k in ("DATE", "AGE")}
            rows.append(
                (
                    corpus_name,
                    pipe_name,
                    len(docs),
                    scores["hipaa"]["token_recall"],
                    scores["hipaa"]["token_precision"],
                    scores["hipaa"]["token_recall_all_tokens"],
                    scores["hipaa"]["token_precision_all_tokens"],
                    scores["hipaa"].get("token_recall_skip_words"),
                    scores["hipaa"].get("token_precision_skip_words"),
                    scores["all"]["token_recall"],
                    date_age["DATE"],
                    date_age["AGE"],
                    leftovers["left_in_synthetic"],
                    leftovers["source_identifiers"],
                )
            )

    def fmt(value) -> str:
        return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)

    header = (
        "corpus",
        "pipeline",
        "notes",
        "HIPAA tok R",
        "HIPAA tok P",
        "HIPAA tok R, punct.",
        "HIPAA tok P, punct.",
        "HIPAA tok R, no skip words",
        "HIPAA tok P, no skip words",
        "all tok R",
        "DATE R",
        "AGE R",
        "source ids left",
        "source ids",
    )
    print(" | ".join(header))
    for row in rows:
        print(" | ".join(fmt(v) for v in row))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
