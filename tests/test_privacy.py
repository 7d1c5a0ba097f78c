"""Privacy evaluators: hand-computed fixtures, and corpora/models that must be flagged."""

import json
import math
import random
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import spacy
import srsly
from conftest import make_doc
from typer.testing import CliRunner

from spacy_synthnotes.batching import length_batches
from spacy_synthnotes.cli import app
from spacy_synthnotes.privacy import (
    PrivacyInputs,
    distance_to_closest_record,
    evaluate_privacy,
    load_canaries,
    load_scorer,
    make_canaries,
    memorization,
    model_membership_inference,
    phi_leakage,
    reidentification_risk,
)
from spacy_synthnotes.privacy.canaries import exposure, planted_texts
from spacy_synthnotes.privacy.mia import NgramModel
from spacy_synthnotes.privacy.stats import attack_summary, proportion
from spacy_synthnotes.privacy.text import SuffixAutomaton
from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.synthesize import phi_leaks
from spacy_synthnotes.training.corpus import replace_phi
from spacy_synthnotes.training.mlm import load_config, train_mlm

ROOT = Path(__file__).parents[1]
MEMORIZING = {
    "paths.init": None,
    "tokenizer.vocab_size": 600,
    "model.hidden_size": 64,
    "model.num_layers": 2,
    "model.num_heads": 2,
    "model.intermediate_size": 128,
    "model.max_length": 128,
    "training.steps": 240,
    "training.eval_every": 120,
    "training.batch_size": 16,
    "training.learning_rate": 0.003,
    "training.warmup_steps": 20,
    "training.patience": 10,
    "corpora.train.limit": 10,
    "corpora.dev.limit": 4,
    "training.canaries.repeats": [16],
    "training.canaries.per_repeat": 3,
    "training.canaries.heldout": 6,
    "training.canaries.seed": 1,
}


@pytest.fixture(scope="module")
def blank():
    return spacy.blank("en")


@pytest.fixture(scope="module")
def demo_docs(demo_dir, blank):
    train = list(DocBinCorpus(demo_dir / "train.spacy", limit=60).docs(blank))
    heldout = list(DocBinCorpus(demo_dir / "test.spacy", limit=40).docs(blank))
    return train, heldout


@pytest.fixture(scope="module")
def memorizing_model(demo_dir, tmp_path_factory):
    """A tiny masked LM trained for many epochs on 10 notes, with 3 secret canaries planted 16 times."""
    overrides = {
        **MEMORIZING,
        "paths.train": str(demo_dir / "train.spacy"),
        "paths.dev": str(demo_dir / "dev.spacy"),
    }
    output = tmp_path_factory.mktemp("memorizing")
    train_mlm(load_config(ROOT / "configs/mlm_small.cfg", overrides), output, log=lambda m: None)
    return output / "model-last"


# -- hand-computed fixtures -------------------------------------------------------------------------


def test_suffix_automaton_matches_brute_force():
    rng = random.Random(0)
    corpus = [[rng.choice("abc") for _ in range(rng.randrange(1, 30))] for _ in range(5)]
    automaton = SuffixAutomaton(corpus)
    texts = ["".join(seq) for seq in corpus]
    for _ in range(50):
        query = [rng.choice("abcd") for _ in range(20)]
        for i, length in enumerate(automaton.match_lengths(query)):
            best = max(
                (n for n in range(i + 2) if any("".join(query[i + 1 - n : i + 1]) in t for t in texts)),
                default=0,
            )
            assert length == best
    # A match never spans two sequences.
    assert SuffixAutomaton([["a", "b"], ["c"]]).match_lengths(["b", "c"]) == [1, 1]


def test_memorization_on_a_hand_computed_example():
    train = ["a b c d e f g h i j"]
    synthetic = ["x a b c d e f g h i y", "p q r s t u v w"]
    result = memorization(synthetic, train, ns=(8,), near_duplicate_threshold=0.5)
    # Note 1 has 4 8-grams, 2 inside "a..i"; note 2 has 1 8-gram, not in training.
    assert result["ngrams"]["8"]["verbatim"]["k"] == 2 and result["ngrams"]["8"]["verbatim"]["n"] == 5
    assert result["ngrams"]["8"]["notes_with_verbatim"]["value"] == 0.5
    assert result["longest_common_run"]["per_note"] == [9, 0]
    # 5-shingles: note 1 shares 5 of 7 with the 6 of training (Jaccard 5/8); note 2 none.
    assert result["near_duplicates"]["rate"]["k"] == 1


def test_proportion_and_attack_summary_by_hand():
    rate = proportion(0, 10)
    assert rate["value"] == 0 and rate["ci"][0] == 0 and rate["ci"][1] == pytest.approx(0.2775, abs=1e-3)
    perfect = attack_summary([3, 4], [1, 2], n_resamples=20)
    assert perfect["auc"]["value"] == 1.0 and perfect["tpr_at_0.01_fpr"]["value"] == 1.0
    # Pairs (member > non-member): (3 > 2) only of four.
    assert attack_summary([1, 3], [2, 4], n_resamples=20)["auc"]["value"] == 0.25
    with pytest.raises(ValueError, match="at least one member"):
        attack_summary([], [1.0])


def test_ngram_model_is_a_distribution():
    model = NgramModel(["the pt is stable .", "the pt is afebrile .", "pt stable"], order=3)
    words = [w for (w,) in model.counts[0]] + ["<unseen>"]
    for history in [("<s>", "<s>"), ("the", "pt"), ("pt", "is"), ("never", "seen")]:
        assert sum(model.prob(history, w) for w in words) == pytest.approx(1.0)
    assert model.log_prob("the pt is stable .") > model.log_prob("stable is the pt .")


def test_leakage_by_hand(blank):
    train = [
        make_doc(
            blank,
            "Pt John Smith seen. Call 555-0192. Chest wall pain.",
            [("John Smith", "PATIENT"), ("555-0192", "PHONE")],
        ),
        make_doc(blank, "Dr. Wall saw Mary Jones today.", [("Wall", "DOCTOR"), ("Mary Jones", "PATIENT")]),
    ]
    synthetic = ["Pt Jonh Smith seen. Chest wall pain.", "Dr. Lee saw Mary Jones today."]
    result = phi_leakage(train, synthetic, sources=[0, 1], heldout_texts=["Nothing here."])
    # 4 strings; exact: "mary jones", and "wall" (a surname in note 1, found in synthetic note 0);
    # fuzzy adds "john smith" (ratio of "jonh smith" is 90).
    assert result["n_phi_strings"] == 4
    assert result["exact"]["k"] == 2 and result["fuzzy"]["k"] == 3
    assert result["per_label"]["PATIENT"]["exact"]["k"] == 1
    # Linked: note 1's "mary jones" is in the note made from it; "wall" appears in note 0's
    # plain text ("Chest wall") but is PHI only in note 1, which it is not found in.
    assert result["linked"]["phi"]["k"] == 1 and result["linked"]["examples"][0]["phi"] == "Mary Jones"
    # Per note, other notes' strings only: "wall" in note 0; note 1's "mary jones" is its own.
    assert result["per_note"]["synthetic"]["value"] == 0.5
    assert result["per_note"]["heldout_baseline"]["value"] == 0.0


def test_synthesize_summary_counts_the_linked_leaks_the_evaluator_counts(blank):
    train = [
        make_doc(
            blank,
            "Pt John Smith seen in Gary, IN. Chest wall pain.",
            [("John Smith", "PATIENT"), ("Gary", "CITY"), ("IN", "STATE")],
        ),
        make_doc(blank, "Dr. Wall saw Mary Jones today.", [("Wall", "DOCTOR"), ("Mary Jones", "PATIENT")]),
    ]
    synthetic = ["Pt Jonh Smith seen in Gary, IN. Chest wall pain.", "Dr. Lee saw MARY JONES; wall intact."]
    leaks = [
        phi_leaks(doc, text, ["PATIENT", "CITY", "STATE", "DOCTOR"]) for doc, text in zip(train, synthetic)
    ]
    # Whole words, case-folded ("MARY JONES"); "IN" is under 3 characters; "Jonh Smith" is not the string.
    assert leaks == [[("CITY", "Gary")], [("PATIENT", "Mary Jones"), ("DOCTOR", "Wall")]]
    linked = phi_leakage(train, synthetic, sources=[0, 1])["linked"]
    assert linked["phi"]["k"] == sum(map(len, leaks)) == 3


def test_reidentification_by_hand(blank):
    train = [
        make_doc(
            blank, "Mary Jones, 54, of Salem.", [("Mary Jones", "PATIENT"), ("54", "AGE"), ("Salem", "CITY")]
        ),
        make_doc(blank, "Ann Lee, 54, of Salem.", [("Ann Lee", "PATIENT"), ("54", "AGE"), ("Salem", "CITY")]),
        make_doc(blank, "Bob Ray, 71, of Salem.", [("Bob Ray", "PATIENT"), ("71", "AGE"), ("Salem", "CITY")]),
    ]
    found = {
        "a": [("PATIENT", "Mary Jones")],  # full name: one note
        "b": [("AGE", "54"), ("CITY", "Salem")],  # two quasi-identifiers, but two notes share them
        "c": [("AGE", "71"), ("CITY", "Salem")],  # two quasi-identifiers, one note
        "d": [("PATIENT", "Mary")],  # one first name: not enough
    }
    result = reidentification_risk(train, list(found), detector=lambda t: found[t], sources=[0, 1, 1, 0])
    assert result["risk"]["k"] == 2 and result["risk"]["n"] == 4
    assert [e["training_note"] for e in result["examples"]] == [0, 2]
    assert result["own_source"]["k"] == 1


class PlantedScorer:
    """A fake model that has memorized one secret: loss 0 for it, 1 to 2 for anything else."""

    def __init__(self, secret: str):
        self.secret = secret

    def secret_losses(self, prefix, secrets, suffix):
        rng = np.random.default_rng(len(secrets))
        return np.array([0.0 if s == self.secret else 1 + rng.random() for s in secrets])


def test_exposure_of_a_memorized_secret_is_maximal():
    canaries = [c for c in make_canaries(repeats=[4], per_repeat=3, heldout=0, seed=2) if c.kind == "secret"]
    result = exposure(PlantedScorer(canaries[0].secret), canaries[:1], n_candidates=255)
    row = result["canaries"][0]
    assert row["rank"] == 1 and row["exposure"] == pytest.approx(math.log2(256))
    assert row["exposure_extrapolated"] > 8


def test_length_batches_cover_every_row_once_shortest_first():
    lengths = [5, 1, 9, 3, 3, 7, 2]
    batches = list(length_batches(lengths, 3))
    assert batches == [[1, 6, 3], [4, 0, 5], [2]]
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    assert list(length_batches([], 4)) == []


def test_masked_scorer_gives_each_text_its_own_loss_in_a_mixed_batch(memorizing_model, demo_dir, blank):
    # Rows are batched by length, not in order: every loss must still go back to its own text.
    scorer = load_scorer(memorizing_model, batch_size=4)
    texts = [d.text for d in DocBinCorpus(demo_dir / "test.spacy", limit=4).docs(blank)]
    texts = [texts[0], "Pt stable.", texts[1][:200], texts[2], "BP 120/80, HR 72."]
    together = scorer.losses(texts)
    alone = [scorer.losses([text])[0] for text in texts]
    assert len(set(np.round(alone, 3))) == len(texts)  # distinct, so a mix-up could not pass
    assert together == pytest.approx(alone, rel=1e-4)


def test_canaries_are_seeded_and_planted_as_asked(tmp_path):
    canaries = make_canaries(repeats=[1, 4], per_repeat=2, heldout=3, seed=5)
    assert canaries == make_canaries(repeats=[1, 4], per_repeat=2, heldout=3, seed=5)
    assert len(canaries) == 2 * (2 + 2 + 3)
    assert len(planted_texts(canaries)) == 2 * 2 * (1 + 4)
    secret = [c for c in canaries if c.kind == "secret"]
    assert all(len(c.secret) == len(c.template) for c in secret)
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        make_canaries(repeats=[0])


# -- what must be flagged ---------------------------------------------------------------------------


def test_memorizing_model_is_flagged_by_mia_exposure_and_ngrams(memorizing_model, demo_dir, blank, tmp_path):
    scorer = load_scorer(memorizing_model)
    train = list(DocBinCorpus(demo_dir / "train.spacy", limit=10).docs(blank))
    heldout = list(DocBinCorpus(demo_dir / "test.spacy", limit=10).docs(blank))
    members = [n.text for n in replace_phi(train, "surrogate", seed=0)]
    others = [n.text for n in replace_phi(heldout, "surrogate", seed=0)]
    mia = model_membership_inference(scorer, members, others)
    assert mia["loss_attack"]["auc"]["value"] >= 0.9
    canaries = load_canaries(memorizing_model)
    assert {c.repeats for c in canaries} == {0, 16}
    exp = exposure(scorer, [c for c in canaries if c.kind == "secret"], n_candidates=100)
    assert exp["per_count"]["16"]["exposure"]["value"] > exp["per_count"]["0"]["exposure"]["value"] + 3

    # Its infilled notes copy the training text back: n-gram memorization is flagged too.
    nlp = spacy.blank("en")
    generator = {
        "@misc": "spacy_synthnotes.MaskedInfill.v1",
        "model": str(memorizing_model),
        "mask_rate": 0.5,
    }
    nlp.add_pipe("synth_notes", config={"generator": generator, "seed": 0})
    synthetic = [d._.synthetic.text for d in nlp.pipe(train)]
    inputs = PrivacyInputs(
        train, heldout, synthetic, sources=list(range(10)), model=scorer, canaries=canaries
    )
    result = evaluate_privacy(inputs, exposure_candidates=60)
    failed = {v["metric"] for v in result["verdicts"] if not v["pass"]}
    assert {"mia_auc", "exposure_bits", "ngram13_excess"} <= failed


def test_surrogate_only_corpus_is_anonymized_not_synthetic(demo_docs, pipeline_dir):
    train, heldout = demo_docs
    nlp = spacy.load(pipeline_dir)
    synthetic = [d._.synthetic.text for d in nlp.pipe(train)]
    dcr = distance_to_closest_record(synthetic, [d.text for d in train], [d.text for d in heldout])
    assert dcr["near_copies"]["value"] > 0.9 and dcr["closer_to_train"]["value"] > 0.9
    # Held-out real notes themselves are not near copies: the cutoff is their 95th percentile.
    control = distance_to_closest_record(
        [d.text for d in heldout], [d.text for d in train], [d.text for d in heldout]
    )
    assert dcr["near_copies"]["value"] > 0.5 > control["closer_to_train"]["value"] - 0.5
    result = evaluate_privacy(PrivacyInputs(train, heldout, synthetic, sources=list(range(len(train)))))
    assert result["anonymized_not_synthetic"]
    verdicts = {v["metric"]: v["pass"] for v in result["verdicts"]}
    assert not verdicts["near_copies"] and not verdicts["ngram13_excess"]
    assert verdicts["leakage_excess"]


def test_copied_phi_string_is_flagged_by_leakage(demo_docs, pipeline_dir):
    train, heldout = demo_docs
    nlp = spacy.load(pipeline_dir)
    synthetic = [d._.synthetic.text for d in nlp.pipe(train)]
    clean = phi_leakage(train, synthetic, sources=list(range(len(train))))
    name = next(e.text for e in train[3].ents if e.label_ == "PATIENT" and " " in e.text)
    leaky = list(synthetic)
    leaky[3] = leaky[3] + f"\nAddendum: discussed with {name}."
    result = evaluate_privacy(PrivacyInputs(train, heldout, leaky, sources=list(range(len(train)))))
    linked = result["leakage"]["linked"]
    assert linked["phi"]["k"] > clean["linked"]["phi"]["k"]
    assert any(e["phi"] == name and e["synthetic_note"] == 3 for e in linked["examples"]), (
        name,
        linked,
    )
    assert not next(v for v in result["verdicts"] if v["metric"] == "linked_leakage")["pass"]


def test_unknown_threshold_is_an_error(demo_docs):
    train, heldout = demo_docs
    with pytest.raises(ValueError, match="Unknown privacy thresholds"):
        evaluate_privacy(PrivacyInputs(train, heldout, ["a note"]), thresholds={"mia": 0.5})


def test_evaluate_privacy_command_writes_json_and_html(memorizing_model, demo_dir, pipeline_dir, tmp_path):
    synthetic = tmp_path / "synthetic.jsonl"
    runner = CliRunner()
    corpus = tmp_path / "train.jsonl"
    srsly.write_jsonl(corpus, list(srsly.read_jsonl(demo_dir / "train.jsonl"))[:30])
    result = runner.invoke(app, ["synthesize", str(pipeline_dir), str(corpus), str(synthetic)])
    assert result.exit_code == 0, result.output
    out = tmp_path / "report"
    args = ["evaluate-privacy", "--train", str(corpus), "--heldout", str(demo_dir / "test.jsonl")]
    args += ["--synthetic", str(synthetic), "--model", str(memorizing_model), "--output", str(out)]
    options = ["--threshold", "mia_auc=0.99", "--max-mia-notes", "20", "--exposure-candidates", "40"]
    result = runner.invoke(app, [*args, *options])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "privacy.json").read_text())
    assert report["thresholds"]["mia_auc"] == 0.99
    assert {"leakage", "memorization", "dcr", "model_mia", "exposure", "text_mia", "reidentification"} <= set(
        report
    )
    assert "canaries" in report["text_mia"] and report["leakage"]["linked"]["phi"]["n"] > 0
    page = (out / "privacy.html").read_text()
    assert page.count("<img") >= 3 and "anonymized, not synthetic" in page
    # A sharded synthesize run (a directory of shards and a manifest) reads the same.
    from spacy_synthnotes.privacy.inputs import synthetic_notes
    from spacy_synthnotes.sharded import synthesize_sharded

    synthesize_sharded(pipeline_dir, corpus, tmp_path / "shards", shard_size=7)
    train_docs = list(DocBinCorpus(demo_dir / "train.spacy", limit=30).docs(spacy.blank("en")))
    texts, sources = synthetic_notes(tmp_path / "shards", train_docs)
    assert len(texts) == 30 and sources == list(range(30))
    bad = runner.invoke(app, [*args, "--threshold", "mia_auc"])
    assert bad.exit_code == 1 and "NAME=NUMBER" in bad.output


@pytest.mark.skipif(not shutil.which("chromium"), reason="headless Chromium is not installed")
def test_report_renders_in_headless_chromium(tmp_path):
    from spacy_synthnotes.privacy.report import write_report

    train = [
        "Pt seen for chest pain. Started aspirin daily.",
        "Pt seen for cough. CXR clear.",
        "Rash resolved.",
    ]
    heldout = ["Pt seen for back pain. Ibuprofen PRN.", "Pt seen for fever. Cultures sent."]
    blank = spacy.blank("en")
    result = evaluate_privacy(
        PrivacyInputs([blank(t) for t in train], [blank(t) for t in heldout], train[:2])
    )
    page = write_report(result, tmp_path)
    shot = tmp_path / "report.png"
    command = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}"]
    subprocess.run([*command, "--window-size=1000,1400", page.as_uri()], capture_output=True, timeout=120)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
