"""Shared fixtures and a test-only registered generator."""

from pathlib import Path
from typing import List, Sequence

import pytest
import spacy
from spacy.language import Language
from spacy.util import registry

from spacy_synthnotes.demo import build_demo_corpus
from spacy_synthnotes.generators.base import KEEP, PHI, NotePlan, Segment, Synthesis
from spacy_synthnotes.readers import DocBinCorpus

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


class ReorderGenerator:
    """Writes a new note: PHI as "[LABEL]", kept entities in reverse order, one
    source entity left out, so the pipe's assembly is tested on output that is
    not a copy of the source text."""

    def __call__(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        out = []
        for plan in plans:
            segments = [Segment("Synthetic note.\n")]
            kept = [(i, e) for i, e in enumerate(plan.entities) if e.action == KEEP]
            for i, ent in reversed(kept[1:]):
                segments += [Segment("Found "), Segment(ent.text, ent.label, i), Segment(" here.\n")]
            for i, ent in enumerate(plan.entities):
                if ent.action == PHI:
                    segments += [Segment(f"[{ent.label}]", ent.label, i), Segment(" ")]
            out.append(Synthesis(segments, {"left_out": 1 if kept else 0}))
        return out


@registry.misc("spacy_synthnotes.test.Reorder.v1")
def make_reorder_generator() -> ReorderGenerator:
    return ReorderGenerator()


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("demo")
    build_demo_corpus(path, spacy.blank("en"), n_notes=600, seed=0)
    return path


@pytest.fixture(scope="session")
def pipeline_dir(tmp_path_factory) -> Path:
    """A saved pipeline with only synth_notes (surrogate generator), for CLI and corpus runs."""
    path = tmp_path_factory.mktemp("pipeline") / "synth"
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_notes", config={"seed": 5})
    nlp.to_disk(path)
    return path


@pytest.fixture
def nlp() -> Language:
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_notes", config={"seed": 7})
    return nlp


@pytest.fixture(scope="session")
def test_docs(demo_dir):
    nlp = spacy.blank("en")
    return list(DocBinCorpus(demo_dir / "test.spacy").docs(nlp)), nlp.vocab


def make_doc(nlp: Language, text: str, spans):
    """A Doc with entities given as (substring, label), matched left to right."""
    doc = nlp.make_doc(text)
    ents, cursor = [], 0
    for sub, label in spans:
        start = text.index(sub, cursor)
        ents.append(doc.char_span(start, start + len(sub), label=label))
        cursor = start + len(sub)
    doc.ents = ents
    return doc


NOTE = (
    "Mr. John Smith (MRN 00482913) was seen on 3/14/2021 for chest pain. "
    "Started lisinopril 10 mg daily. Mr. Smith will follow up on 4/1/2021 with Dr. Wong "
    "at Mercy General Hospital, Boston. Call (617) 555-0192. J. Smith is 92 years old."
)
NOTE_SPANS = [
    ("John Smith", "PATIENT"),
    ("00482913", "MEDICALRECORD"),
    ("3/14/2021", "DATE"),
    ("chest pain", "PROBLEM"),
    ("lisinopril", "DRUG"),
    ("10 mg", "DOSE"),
    ("daily", "FREQUENCY"),
    ("Smith", "PATIENT"),
    ("4/1/2021", "DATE"),
    ("Wong", "DOCTOR"),
    ("Mercy General Hospital", "HOSPITAL"),
    ("Boston", "CITY"),
    ("(617) 555-0192", "PHONE"),
    ("J. Smith", "PATIENT"),
    ("92", "AGE"),
]


@pytest.fixture(scope="session")
def utility_run(demo_dir, pipeline_dir, tmp_path_factory):
    """A tiny train-on-synthetic run: 60 real notes, their surrogate versions, and a synthetic set whose
    entities were all removed (a generator that keeps nothing); 30 real test notes."""
    import srsly
    from spacy.tokens import DocBin

    from spacy_synthnotes.synthesize import load_pipeline, synthesize_corpus
    from spacy_synthnotes.utility import evaluate_utility, load_utility_inputs

    path = tmp_path_factory.mktemp("utility")
    nlp = spacy.blank("en")
    train = list(DocBinCorpus(demo_dir / "train.spacy", limit=60).docs(nlp))
    test = list(DocBinCorpus(demo_dir / "test.spacy", limit=30).docs(nlp))
    DocBin(docs=train, store_user_data=True).to_disk(path / "train.spacy")
    DocBin(docs=test, store_user_data=True).to_disk(path / "test.spacy")
    synthesize_corpus(load_pipeline(str(pipeline_dir)), path / "train.spacy", path / "surrogate.jsonl")
    blank = [{**record, "spans": []} for record in srsly.read_jsonl(path / "surrogate.jsonl")]
    srsly.write_jsonl(path / "blank.jsonl", blank)
    synthetic = {"surrogate": path / "surrogate.jsonl", "blank": path / "blank.jsonl"}
    inputs = load_utility_inputs(path / "train.spacy", demo_dir / "dev.spacy", path / "test.spacy", synthetic)
    config = Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"
    small_batches = {"training.batcher.size.start": 30, "training.batcher.size.stop": 300}
    result = evaluate_utility(
        inputs, config, max_steps=160, fractions=[0.5], seed=0, n_process=2, overrides=small_batches
    )
    return {"dir": path, "inputs": inputs, "synthetic": synthetic, "result": result}


@pytest.fixture(scope="session")
def context_model(demo_dir, tmp_path_factory) -> Path:
    """A tiny DP causal model with released entity contexts and line templates (`[training.contexts]`)."""
    from test_entity_conditioned import tiny_config

    from spacy_synthnotes.training.causal import train_causal

    output = tmp_path_factory.mktemp("causal_contexts")
    overrides = {
        "training.privacy.target_epsilon": 40.0,
        "training.privacy.accountant": "rdp",
        "training.contexts.words": 1,
        "training.contexts.lines": 16,
        "training.contexts.noise_multiplier": 0.5,
        "corpora.train.limit": 60,
    }
    logged: List[str] = []
    train_causal(tiny_config(demo_dir, **overrides), output, log=logged.append)
    assert any(line.startswith("Entity contexts:") and "line templates released" in line for line in logged)
    return output / "model-last"
