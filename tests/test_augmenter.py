"""The synth_augmenter in spaCy's corpus machinery and in `spacy train`."""

import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from spacy.training import Corpus
from spacy.util import registry

ROOT = Path(__file__).parents[1]


def make_augmenter(pipeline_dir, level, seed=0):
    make = registry.augmenters.get("spacy_synthnotes.synth_augmenter.v1")
    return make(pipeline=str(pipeline_dir), level=level, seed=seed)


def test_synthetic_examples_follow_the_originals_with_aligned_gold(demo_dir, pipeline_dir):
    nlp = spacy.blank("en")
    corpus = Corpus(demo_dir / "dev.spacy", augmenter=make_augmenter(pipeline_dir, 1.0), limit=10)
    examples = list(corpus(nlp))
    assert len(examples) == 20
    for original, synthetic in zip(examples[::2], examples[1::2]):
        assert synthetic.reference.text != original.reference.text
        gold = [(e.label_, e.text) for e in original.reference.ents]
        written = [(e.label_, e.text) for e in synthetic.reference.ents]
        # Same labels in the same order; clinical entities verbatim, PHI replaced.
        assert [label for label, _ in written] == [label for label, _ in gold]
        kept = [(lab, t) for lab, t in gold if lab in {"PROBLEM", "DRUG", "DOSE", "TEST", "PROCEDURE"}]
        assert [
            (lab, t) for lab, t in written if lab in {"PROBLEM", "DRUG", "DOSE", "TEST", "PROCEDURE"}
        ] == kept
        for ent in synthetic.reference.ents:
            assert synthetic.reference.text[ent.start_char : ent.end_char] == ent.text


def test_level_zero_adds_nothing_and_bad_level_is_an_error(demo_dir, pipeline_dir):
    nlp = spacy.blank("en")
    corpus = Corpus(demo_dir / "dev.spacy", augmenter=make_augmenter(pipeline_dir, 0.0), limit=10)
    assert len(list(corpus(nlp))) == 10
    half = Corpus(demo_dir / "dev.spacy", augmenter=make_augmenter(pipeline_dir, 0.5, seed=3), limit=40)
    assert 45 <= len(list(half(nlp))) <= 75
    with pytest.raises(ValueError, match="level must be in"):
        make_augmenter(pipeline_dir, 1.5)


@pytest.mark.slow
def test_spacy_train_runs_with_the_augmenter(demo_dir, pipeline_dir, tmp_path):
    config = spacy.util.load_config(ROOT / "configs" / "ner_demo.cfg")
    config["corpora"]["train"] = {
        "@readers": "spacy.Corpus.v1",
        "path": str(demo_dir / "train.spacy"),
        "limit": 30,
        "augmenter": {
            "@augmenters": "spacy_synthnotes.synth_augmenter.v1",
            "pipeline": str(pipeline_dir),
            "level": 1.0,
        },
    }
    config["corpora"]["dev"]["limit"] = 10
    config["training"]["max_steps"] = 6
    config["training"]["eval_frequency"] = 3
    path = tmp_path / "augmented.cfg"
    config.to_disk(path)
    command = [sys.executable, "-m", "spacy", "train", str(path), "--output", str(tmp_path / "out")]
    command += ["--paths.train", str(demo_dir / "train.spacy"), "--paths.dev", str(demo_dir / "dev.spacy")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    trained = spacy.load(tmp_path / "out" / "model-last")
    assert "PROBLEM" in trained.get_pipe("ner").labels
