"""The demo corpus, and the surrogate pipe on every demo note."""

import itertools
import os
import re
import subprocess
import sys
from collections import Counter

import pytest
import spacy
import srsly

from spacy_synthnotes.dates import parse_date
from spacy_synthnotes.demo import CLINICAL_LABELS, LABELS, NOTE_TYPES, PHI_LABELS, DemoCorpusBuilder
from spacy_synthnotes.demo.correspondence import KINDS, CorrespondenceBuilder
from spacy_synthnotes.demo.notes import record_to_doc
from spacy_synthnotes.readers import DocBinCorpus, JsonlCorpus
from spacy_synthnotes.synthesize import phi_leaks


@pytest.fixture(scope="module")
def all_docs(demo_dir):
    nlp = spacy.blank("en")
    docs = {
        split: list(DocBinCorpus(demo_dir / f"{split}.spacy").docs(nlp)) for split in ("train", "dev", "test")
    }
    return nlp, docs


@pytest.fixture(scope="module")
def synthesized(all_docs):
    nlp, docs = all_docs
    nlp.add_pipe("synth_notes", config={"seed": 11})
    return [(doc, doc._.synthetic) for doc in nlp.pipe(itertools.chain(*docs.values()))]


def test_corpus_size_types_labels_and_patient_split(all_docs):
    _, docs = all_docs
    every = list(itertools.chain(*docs.values()))
    assert len(every) >= 500
    assert set(Counter(d._.note_meta["note_type"] for d in every)) == set(NOTE_TYPES)
    assert {e.label_ for d in every for e in d.ents} == set(LABELS)
    patients = {split: {d._.note_meta["patient_id"] for d in ds} for split, ds in docs.items()}
    assert not patients["train"] & patients["test"] and not patients["train"] & patients["dev"]
    assert len(docs["test"]) >= 40


def test_jsonl_and_docbin_hold_the_same_notes(demo_dir, all_docs):
    nlp, docs = all_docs
    from_jsonl = list(JsonlCorpus(demo_dir / "test.jsonl").docs(spacy.blank("en")))
    assert [(d.text, [(e.start_char, e.end_char, e.label_) for e in d.ents]) for d in from_jsonl] == [
        (d.text, [(e.start_char, e.end_char, e.label_) for e in d.ents]) for d in docs["test"]
    ]


def test_same_seed_same_corpus_and_notes_vary():
    first = DemoCorpusBuilder(seed=4).notes(40)
    assert first == DemoCorpusBuilder(seed=4).notes(40)
    assert first != DemoCorpusBuilder(seed=5).notes(40)
    # Varied: few notes share their first 200 characters after the header.
    bodies = Counter(r["text"][150:350] for r in first)
    assert bodies.most_common(1)[0][1] == 1


def test_every_demo_note_has_exact_spans_after_synthesis(synthesized):
    checked = 0
    for doc, synthetic in synthesized:
        synthetic_ents = {(e.start_char, e.end_char, e.label_) for e in synthetic.ents}
        assert len(synthetic_ents) == len(doc.ents)
        for record in doc._.synthetic_alignment:
            start, end, label = record["target"]
            assert (start, end, label) in synthetic_ents
            if label in CLINICAL_LABELS:
                s, e, _ = record["source"]
                assert synthetic.text[start:end] == doc.text[s:e]
                checked += 1
    assert checked > 10_000


def test_no_original_phi_string_left_in_the_test_split(all_docs):
    nlp, docs = all_docs
    pipe = spacy.blank("en", vocab=nlp.vocab)
    pipe.add_pipe("synth_notes", config={"seed": 11})
    for doc in pipe.pipe(docs["test"]):
        synthetic = doc._.synthetic
        assert phi_leaks(doc, synthetic.text, PHI_LABELS) == []
        for record in doc._.synthetic_alignment:
            if record["action"] == "phi":
                (s, e, _), (ts, te, _) = record["source"], record["target"]
                assert synthetic.text[ts:te] != doc.text[s:e]


def test_dates_keep_their_intervals_within_each_note(synthesized):
    pairs = 0
    for doc, synthetic in synthesized:
        values = []
        for record in doc._.synthetic_alignment:
            if record["source"][2] != "DATE":
                continue
            (s, e, _), (ts, te, _) = record["source"], record["target"]
            source, target = parse_date(doc.text[s:e]), parse_date(synthetic.text[ts:te])
            assert source is not None and target is not None
            if source.has_year:
                values.append((source.value, target.value))
        for (a, sa), (b, sb) in itertools.combinations(values, 2):
            assert (a - b) == (sa - sb)
            pairs += 1
    assert pairs > 1000


def test_demo_jsonl_records_are_prodigy_style(demo_dir):
    record = next(iter(srsly.read_jsonl(demo_dir / "train.jsonl")))
    assert set(record) == {"text", "spans", "meta"}
    assert {"start", "end", "label"} == set(record["spans"][0])


def test_ner_train_split_is_the_train_split_plus_correspondence(demo_dir, all_docs):
    nlp, docs = all_docs
    ner_train = list(DocBinCorpus(demo_dir / "ner_train.spacy").docs(nlp))
    assert [d.text for d in ner_train[: len(docs["train"])]] == [d.text for d in docs["train"]]
    letters = ner_train[len(docs["train"]) :]
    assert len(letters) == 600
    assert {d._.note_meta["note_type"] for d in letters} == set(KINDS)
    # No test or dev note is in the NER's training set.
    held_out = {d.text for d in docs["test"] + docs["dev"]}
    assert not held_out & {d.text for d in ner_train}


def test_correspondence_is_seeded_and_spans_are_exact_tokens():
    nlp = spacy.blank("en")
    records = CorrespondenceBuilder(seed=3).texts(300, nlp)
    assert records == CorrespondenceBuilder(seed=3).texts(300, nlp)
    assert records != CorrespondenceBuilder(seed=4).texts(300, nlp)
    # Without a tokenizer to check against, almost every text is on token boundaries already.
    unchecked = CorrespondenceBuilder(seed=3).texts(300)
    assert sum(r in records for r in unchecked) >= 290
    labels = Counter()
    for record in records:
        doc = record_to_doc(nlp, record)  # raises if a span is not on token boundaries
        for ent in doc.ents:
            labels[ent.label_] += 1
            assert ent.text == ent.text.strip() and "  " not in ent.text
    phi = {
        "PATIENT", "DOCTOR", "DATE", "AGE", "HOSPITAL", "STREET", "CITY", "STATE", "COUNTRY", "ZIP",
        "PHONE", "FAX", "EMAIL", "IDNUM", "ORGANIZATION",
    }  # fmt: skip
    assert set(labels) == phi | set(CLINICAL_LABELS)  # clinical entities of the case narratives


def test_correspondence_writes_international_names_and_multi_line_addresses():
    records = CorrespondenceBuilder(seed=0).texts(500)
    spans = [(r["text"][s:e], label) for r in records for s, e, label in r["spans"]]
    names = [text for text, label in spans if label == "PATIENT"]
    # Names with letters outside ASCII (Hungarian, Nordic, Greek...) and names typed in lower case.
    assert sum(any(ord(c) > 127 for c in name) for name in names) > 0.1 * len(names)
    assert any(name.islower() for name in names)
    countries = {text.title() for text, label in spans if label == "COUNTRY"}
    assert len(countries) >= 20
    # Address blocks: street, town and postcode on separate lines, each annotated.
    blocks = 0
    for record in records:
        by_start = sorted(record["spans"])
        for (_, e1, l1), (s2, _, l2) in zip(by_start, by_start[1:]):
            if l1 == "STREET" and l2 in ("CITY", "ZIP") and record["text"][e1:s2] == "\n":
                blocks += 1
    assert blocks >= 50


def test_correspondence_annotates_weekdays_and_corners_as_synth_phi_marks_them():
    records = CorrespondenceBuilder(seed=0).texts(600)
    weekdays = corners = 0
    for record in records:
        spans = record["spans"]
        text = record["text"]
        for match in re.finditer(r"\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b", text):
            assert (match.start(), match.end(), "DATE") in spans, text
            weekdays += 1
        for match in re.finditer(r"the corner of ", text):
            assert any(s == match.start() and label == "STREET" for s, e, label in spans), text
            corners += 1
    assert weekdays >= 20 and corners >= 10


def test_correspondence_is_the_same_in_another_process():
    # Faker providers that build their lists from sets change with Python's hash seed.
    script = (
        "import hashlib, spacy\n"
        "from spacy_synthnotes.demo.correspondence import CorrespondenceBuilder\n"
        "texts = CorrespondenceBuilder(seed=1).texts(400, spacy.blank('en'))\n"
        "print(hashlib.sha256(repr(texts).encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", script],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    assert len(digests) == 1
