"""benchmarks/public_corpus.py: the public pretraining corpus behind the README's public-pretraining run."""

import json
import subprocess
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

from spacy_synthnotes.extensions import NOTE_META, install_extensions

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "public_corpus.py"


def write_brat(folder: Path, name: str, text: str, ann: list) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_text(text, encoding="utf8")
    (folder / f"{name}.ann").write_text("\n".join(ann) + "\n", encoding="utf8")


def span(text: str, label: str, part: str, index: int) -> str:
    start = text.index(part)
    return f"T{index}\t{label} {start} {start + len(part)}\t{part}"


def shared_folder(root: Path) -> Path:
    report = "A 52-year-old man had chest pain. Aspirin 81 mg was given after an ECG."
    for i in range(3):
        ann = [
            span(report, "Age", "52-year-old", 1),
            span(report, "Sign_symptom", "chest pain", 2),
            span(report, "Medication", "Aspirin", 3),
            span(report, "Dosage", "81 mg", 4),
            span(report, "Diagnostic_procedure", "ECG", 5),
            span(report, "Biological_structure", "chest", 6),
        ]
        write_brat(root / "maccrobat2020" / "MACCROBAT2020", f"r{i}", report, ann)
    abstract = "Ataxia telangiectasia is a rare disease."
    ann = [span(abstract, "SpecificDisease", "Ataxia telangiectasia", 1)]
    write_brat(root / "ncbi_disease" / "standoff" / "train", "a0", abstract, ann)
    sentence = "Call John Smith at 555-123-4567 from Boston."
    spans = [
        {"entity_type": t, "start_position": sentence.index(v), "end_position": sentence.index(v) + len(v)}
        for t, v in [("PERSON", "John Smith"), ("PHONE_NUMBER", "555-123-4567"), ("GPE", "Boston")]
    ]
    presidio = root / "presidio_synth_pii"
    presidio.mkdir()
    record = {"full_text": sentence, "spans": repr(spans)}
    (presidio / "synth_dataset_v2.json").write_text(json.dumps([record, record]), encoding="utf8")
    return root


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_corpora_are_read_relabeled_to_demo_labels_and_split(tmp_path):
    shared = shared_folder(tmp_path / "shared")
    done = run(str(shared), str(tmp_path / "out"), "--dev", "2", "--seed", "0")
    assert done.returncode == 0, done.stderr
    assert "not found, left out" in done.stdout and "standoff/devel" in done.stdout
    install_extensions()
    nlp = spacy.blank("en")
    train = list(DocBin().from_disk(tmp_path / "out" / "train.spacy").get_docs(nlp.vocab))
    dev = list(DocBin().from_disk(tmp_path / "out" / "dev.spacy").get_docs(nlp.vocab))
    assert (len(train), len(dev)) == (4, 2)
    by_id = {d._.get(NOTE_META)["id"]: d for d in train + dev}
    assert sorted(by_id) == [
        "maccrobat-0",
        "maccrobat-1",
        "maccrobat-2",
        "ncbi-train-0",
        "presidio-0",
        "presidio-1",
    ]
    report = by_id["maccrobat-0"]
    assert report._.get(NOTE_META)["note_type"] == "case report"
    assert [(e.text, e.label_) for e in report.ents] == [
        ("52-year-old", "AGE"),
        ("chest pain", "PROBLEM"),
        ("Aspirin", "DRUG"),
        ("81 mg", "DOSE"),
        ("ECG", "TEST"),
    ]
    assert [(e.text, e.label_) for e in by_id["ncbi-train-0"].ents] == [("Ataxia telangiectasia", "PROBLEM")]
    assert by_id["ncbi-train-0"]._.get(NOTE_META)["note_type"] == "abstract"
    sentence = by_id["presidio-0"]
    assert [(e.text, e.label_) for e in sentence.ents] == [
        ("John Smith", "PATIENT"),
        ("555-123-4567", "PHONE"),
        ("Boston", "CITY"),
    ]
    assert json.loads(done.stdout[done.stdout.index("{") :])["documents"] == {"train": 4, "dev": 2}
    again = run(str(shared), str(tmp_path / "again"), "--dev", "2", "--seed", "0")
    assert again.returncode == 0
    ids = [
        d._.get(NOTE_META)["id"]
        for d in DocBin().from_disk(tmp_path / "again" / "dev.spacy").get_docs(nlp.vocab)
    ]
    assert ids == [d._.get(NOTE_META)["id"] for d in dev]


def test_too_few_documents_is_a_clear_error(tmp_path):
    done = run(str(tmp_path), str(tmp_path / "out"), "--dev", "2")
    assert done.returncode != 0 and "0 documents found, not enough for 2 dev" in done.stderr
