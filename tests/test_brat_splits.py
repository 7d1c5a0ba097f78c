"""benchmarks/brat_splits.py: the seeded real-corpus splits behind the README's MACCROBAT utility table."""

import json
import subprocess
import sys
from pathlib import Path

import spacy
from spacy.tokens import DocBin

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "brat_splits.py"


def write_reports(folder: Path, n: int) -> None:
    for i in range(n):
        text = f"A {40 + i}-year-old man had chest pain on day {i}. Aspirin 81 mg was given."
        age = text.index(f"{40 + i}-year-old")
        ann = [
            f"T1\tAge {age} {age + len(f'{40 + i}-year-old')}\t{40 + i}-year-old",
            f"T2\tSign_symptom {text.index('chest')} {text.index('chest') + 10}\tchest pain",
            f"T3\tMedication {text.index('Aspirin')} {text.index('Aspirin') + 7}\tAspirin",
            f"T4\tBiological_structure {text.index('chest')} {text.index('chest') + 5}\tchest",
            "T5\tDosage 0 1;2 4\tA 40",
        ]
        (folder / f"r{i}.txt").write_text(text, encoding="utf8")
        (folder / f"r{i}.ann").write_text("\n".join(ann) + "\n", encoding="utf8")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True)


def test_splits_are_seeded_disjoint_and_keep_only_the_chosen_labels_renamed(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_reports(corpus, 10)
    options = ["--labels", "Age,Sign_symptom,Medication", "--rename", "Age=AGE", "--dev", "2", "--test", "3"]
    done = run(str(corpus), str(tmp_path / "a"), *options)
    assert done.returncode == 0, done.stderr
    assert "'unknown label': 10" in done.stdout and "'discontinuous': 10" in done.stdout
    splits = json.loads((tmp_path / "a" / "splits.json").read_text())
    assert {k: len(v) for k, v in splits.items()} == {"test": 3, "dev": 2, "train": 5}
    assert sorted(sum(splits.values(), [])) == sorted(f"r{i}" for i in range(10))
    nlp = spacy.blank("en")
    docs = list(DocBin().from_disk(tmp_path / "a" / "train.spacy").get_docs(nlp.vocab))
    assert all([e.label_ for e in d.ents] == ["AGE", "Sign_symptom", "Medication"] for d in docs)
    assert run(str(corpus), str(tmp_path / "b"), *options).returncode == 0
    assert json.loads((tmp_path / "b" / "splits.json").read_text()) == splits
    assert run(str(corpus), str(tmp_path / "c"), *options, "--seed", "1").returncode == 0
    assert json.loads((tmp_path / "c" / "splits.json").read_text()) != splits


def test_too_few_documents_and_a_bad_rename_are_clear_errors(tmp_path):
    write_reports(tmp_path, 4)
    done = run(str(tmp_path), str(tmp_path / "out"), "--labels", "Age", "--dev", "2", "--test", "2")
    assert done.returncode != 0 and "4 documents, not enough for 2 dev + 2 test" in done.stderr
    done = run(str(tmp_path), str(tmp_path / "out"), "--labels", "Age", "--rename", "Age")
    assert done.returncode != 0 and "--rename must look like Date=DATE,Age=AGE" in done.stderr
