"""DP-released entity contexts (train-causal `[training.contexts]`) and EntityConditioned.v2 writing them."""

import random
import shutil

import pytest
import spacy
import srsly
from scipy.stats import norm

from spacy_synthnotes.generators.base import Segment
from spacy_synthnotes.generators.entity_contexts import (
    CONTEXTS_FILE,
    insert_contexts,
    note_contexts,
    read_contexts,
    release_contexts,
)
from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.training.causal import calibrate_noise, context_settings

V1, V2 = "spacy_synthnotes.EntityConditioned.v1", "spacy_synthnotes.EntityConditioned.v2"
NOTE = "Pt: Mary Jones   MRN: 12345\nSeen by Dr. Lee, MD on 3/4/2020.\nLisinopril 10 mg daily"
ENTS = [(4, 14, "PATIENT"), (22, 27, "MEDICALRECORD"), (40, 43, "DOCTOR"), (51, 59, "DATE")]
ENTS += [(61, 71, "DRUG"), (72, 77, "DOSE"), (78, 83, "FREQUENCY")]


def test_contexts_stop_at_line_ends_and_neighbouring_entities():
    assert [NOTE[s:e] for s, e, _ in ENTS] == [
        "Mary Jones",
        "12345",
        "Lee",
        "3/4/2020",
        "Lisinopril",
        "10 mg",
        "daily",
    ]
    contexts = note_contexts(NOTE, ENTS, words=2)
    assert contexts[:4] == [
        ("PATIENT", "left", "\nPt: "),  # reached the line start
        ("PATIENT", "right", "   MRN: "),  # stops at the next entity
        ("MEDICALRECORD", "left", "   MRN: "),
        ("MEDICALRECORD", "right", "\n"),
    ]
    assert ("DOCTOR", "left", "by Dr. ") in contexts  # two words, not the line start
    assert ("DOCTOR", "right", ", MD") in contexts
    assert ("DATE", "right", ".\n") in contexts
    assert ("DRUG", "left", "\n") in contexts and ("DOSE", "left", " ") in contexts
    assert contexts[-1] == ("FREQUENCY", "right", "")  # the end of the text is not a line break
    assert ("DOCTOR", "left", "Dr. ") in note_contexts(NOTE, ENTS, words=1)


def test_a_context_many_units_share_is_released_and_one_units_is_not():
    common = [("DOCTOR", "left", "Dr. ")]
    units = [common + [("DOCTOR", "left", f"Professor{i} ")] for i in range(300)]
    release = release_contexts(units, ["DOCTOR", "PATIENT"], noise_multiplier=1.0, delta=1e-3, words=1)
    assert release.keys_per_unit == 4 and release.sigma == pytest.approx(2.0)
    assert release.threshold == pytest.approx(1 + 2.0 * norm.isf(1e-3 / 4))
    # each unit has 2 distinct left contexts but counts for per_label = 1 of them, drawn at random
    [(text, count)] = release.table["DOCTOR"]["left"]
    assert text == "Dr. " and 100 < count < 200
    assert release.table["DOCTOR"]["right"] == [] and "PATIENT" not in release.table
    both = release_contexts(
        units, ["DOCTOR", "PATIENT"], noise_multiplier=1.0, delta=1e-3, words=1, per_label=2
    )
    assert (
        both.keys_per_unit == 8
        and both.table["DOCTOR"]["left"][0][1] > 280
        and both.sigma == pytest.approx(8**0.5)
    )
    record = both.record()
    assert record["released"] == 1 and record["per_label"] == 2 and record["units"] == 300


def test_a_key_of_one_unit_survives_at_most_with_probability_delta():
    units = [[("IDNUM", "left", "#: ")] for _ in range(30)] + [[("IDNUM", "right", " (secret)")]]
    leaked = 0
    for seed in range(300):
        table = release_contexts(units, ["IDNUM"], noise_multiplier=0.5, delta=0.05, words=1, seed=seed).table
        assert [t for t, _ in table["IDNUM"]["left"]] == ["#: "]
        leaked += bool(table["IDNUM"]["right"])
    assert leaked <= 10  # delta / K = 0.025 per key: about 7.5 of 300 expected


def test_bad_release_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="not in the label set"):
        release_contexts([[("ZIP", "left", "in ")]], ["CITY"], noise_multiplier=1.0, delta=1e-3, words=1)
    with pytest.raises(ValueError, match="per_label >= 1"):
        release_contexts([], ["CITY"], noise_multiplier=1.0, delta=1e-3, words=1, per_label=0)
    with pytest.raises(ValueError, match="differential privacy"):
        context_settings({"words": 2}, dp=False)
    with pytest.raises(ValueError, match="delta_share must be in"):
        context_settings({"words": 2, "delta_share": 1.0}, dp=True)
    assert context_settings({"words": 0}, dp=True) is None and context_settings(None, dp=True) is None


def test_contexts_are_written_around_entities_and_leave_them_intact():
    table = {
        "PATIENT": {"left": [("\nPatient: ", 50.0)], "right": [("   MRN: ", 50.0)]},
        "DOCTOR": {"left": [("Dr. ", 50.0)], "right": []},
    }
    contexts = {"table": table, "record": {"units": 40, "per_label": 1}}  # counted 50 times of 40: always
    segments = [
        Segment("noise"),
        Segment("Ann Bell", "PATIENT", 0),
        Segment("words then"),
        Segment("Lee", "DOCTOR", 1),
        Segment(", and"),
        Segment("Kim", "ZIP", 2),
    ]
    out, written = insert_contexts(segments, contexts, random.Random(0))
    assert "".join(s.text for s in out) == "noise\nPatient: Ann Bell   MRN: words then Dr. Lee, and Kim"
    assert [s for s in out if s.label] == [s for s in segments if s.label]
    assert written == 3
    out, _ = insert_contexts([Segment("Ann Bell", "PATIENT", 0)], contexts, random.Random(0))
    assert out[0].text == "Patient: "  # a note's first line needs no line break
    repeated = [Segment("Ann Bell", "PATIENT", 0), Segment("4211", "MEDICALRECORD", 1)]
    table["MEDICALRECORD"] = {"left": [("MRN: ", 90.0)], "right": []}
    out, _ = insert_contexts(repeated, contexts, random.Random(0))
    assert "".join(s.text for s in out) == "Patient: Ann Bell   MRN: 4211"  # MRN: is not repeated
    touching = [Segment("12345", "ZIP", 0), Segment("02110", "ZIP", 1)]
    assert "".join(s.text for s in insert_contexts(touching, contexts, random.Random(0))[0]) == "12345 02110"


def test_a_side_gets_a_context_as_often_as_its_released_contexts_were_counted():
    table = {"TEST": {"left": [("to monitor, ", 30.0), ("Check ", 20.0)], "right": []}}
    rng, drawn = random.Random(0), []
    for _ in range(4000):
        out, written = insert_contexts(
            [Segment("BNP", "TEST", 0)],
            {"table": table, "record": {"units": 100, "per_label": 2}},
            rng,
        )
        drawn.append(out[0].text if written else None)
    assert drawn.count(None) / 4000 == pytest.approx(0.75, abs=0.03)  # counted 50 times of 100 units x 2
    assert drawn.count("to monitor, ") / drawn.count("Check ") == pytest.approx(1.5, rel=0.2)


def test_noise_is_calibrated_for_the_total_epsilon():
    from opacus.accountants import create_accountant

    prior = [(1.5, 1.0, 1)]
    sigma = calibrate_noise(8.0, 1e-3, 0.125, 64, "rdp", prior)
    accountant = create_accountant("rdp")
    accountant.history = prior + [(sigma, 0.125, 64)]
    assert 7.98 <= accountant.get_epsilon(1e-3) <= 8.0
    accountant.history = [(sigma, 0.125, 64)]
    assert accountant.get_epsilon(1e-3) < 7.9  # DP-SGD alone gets less than the total
    with pytest.raises(ValueError, match="context release alone"):
        calibrate_noise(0.5, 1e-3, 0.125, 64, "rdp", [(0.5, 1.0, 1)])


def test_dp_training_releases_contexts_in_the_same_accountant(context_model):
    from opacus.accountants import create_accountant

    record = srsly.read_json(context_model / "privacy.json")
    contexts = record["contexts"]
    assert contexts["words"] == 1 and contexts["released"] > 0 and contexts["units"] == record["n_units"]
    assert contexts["delta"] == pytest.approx(record["delta"] * 0.1)
    accountant = create_accountant("rdp")
    accountant.history = [(0.5, 1.0, 1), (record["noise_multiplier"], record["sample_rate"], record["steps"])]
    assert accountant.get_epsilon(record["delta"] - contexts["delta"]) == pytest.approx(record["epsilon"])
    assert record["epsilon"] <= 40.0
    table = read_contexts(context_model / CONTEXTS_FILE)["table"]
    released = [text for sides in table.values() for side in sides.values() for text, _ in side]
    assert len(released) == contexts["released"]


def synth(model, version, **config):
    nlp = spacy.blank("en")
    generator = {"@misc": version, "model": str(model)}
    nlp.add_pipe(
        "synth_notes", config={"generator": {**generator, "max_new_tokens": 160, **config}, "seed": 1}
    )
    return nlp


def test_v2_writes_released_contexts_and_v1_does_not(context_model, demo_dir, tmp_path):
    docs = [d for d in DocBinCorpus(demo_dir / "test.spacy").docs(spacy.blank("en")) if len(d.ents) <= 8][:3]
    table = read_contexts(context_model / CONTEXTS_FILE)["table"]
    v2 = synth(context_model, V2)
    first = []
    for doc in v2.pipe(docs):
        report, synthetic = doc._.synthetic_report, doc._.synthetic
        assert report["contexts_written"] > 0 and report["entities_missing"] == 0
        assert [e.label_ for e in synthetic.ents] == [e.label_ for e in doc.ents]
        preceded = 0  # entities right after one of their label's released left contexts
        for ent in synthetic.ents:
            lefts = [text.lstrip() for text, _ in table.get(ent.label_, {}).get("left", [])]
            preceded += any(left and synthetic.text[: ent.start_char].endswith(left) for left in lefts)
        assert preceded > 0
        first.append(synthetic.text)
    for version, config in ((V1, {}), (V2, {"contexts": False})):
        for doc in synth(context_model, version, **config).pipe(docs):
            assert "contexts_written" not in doc._.synthetic_report
    v2.to_disk(tmp_path / "pipeline")
    assert (tmp_path / "pipeline" / "synth_notes" / "generator" / "model" / CONTEXTS_FILE).exists()
    again = spacy.load(tmp_path / "pipeline")
    assert [d._.synthetic.text for d in again.pipe(docs)] == first


def test_a_corrupt_context_file_is_a_clear_error(context_model, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(context_model, broken)
    (broken / CONTEXTS_FILE).write_text('{"table": {"DOCTOR": {"left": [["Dr. ", -3]], "right": []}}}')
    with pytest.raises(ValueError, match="not a readable entity-context file"):
        synth(broken, V2)("Seen by Dr. Lee.")
