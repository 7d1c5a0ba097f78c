"""The demo corpus, and the surrogate pipe on every demo note."""

import itertools
from collections import Counter

import pytest
import spacy
import srsly

from spacy_synthnotes.dates import parse_date
from spacy_synthnotes.demo import CLINICAL_LABELS, LABELS, NOTE_TYPES, PHI_LABELS, DemoCorpusBuilder
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
