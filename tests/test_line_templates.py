"""DP-released line templates (`[training.contexts] lines`) and EntityConditioned.v3 writing them."""

import random
import shutil

import pytest
import spacy
import srsly
from scipy.stats import norm
from test_entity_contexts import synth

from spacy_synthnotes.generators.base import Segment
from spacy_synthnotes.generators.entity_contexts import CONTEXTS_FILE, read_contexts, release_contexts
from spacy_synthnotes.generators.line_templates import (
    line_groups,
    merge_lines,
    negated,
    note_lines,
    sentence_cuts,
    template_lines,
)
from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.training.causal import context_settings, context_units
from spacy_synthnotes.training.corpus import TrainingNote

V2, V3 = "spacy_synthnotes.EntityConditioned.v2", "spacy_synthnotes.EntityConditioned.v3"
NOTE = "Pt: Mary Jones   MRN: 12345\nSeen by Dr. Lee, MD on 3/4/2020.\nPlan:\nLisinopril 10 mg daily"
ENTS = [(4, 14, "PATIENT"), (22, 27, "MEDICALRECORD"), (40, 43, "DOCTOR"), (51, 59, "DATE")]
ENTS += [(67, 77, "DRUG"), (78, 83, "DOSE"), (84, 89, "FREQUENCY")]
HEADER = (("PATIENT", "MEDICALRECORD"), ("Pt: ", "   MRN: ", ""))
SOCIAL_PIECES = (
    "SOCIAL HISTORY: Works as a ",
    ". Lives in ",
    ", ",
    " with her son ",
    ". Denies tobacco use.",
)


def test_a_line_template_is_the_line_with_its_entities_cut_out():
    assert [NOTE[s:e] for s, e, _ in ENTS][-3:] == ["Lisinopril", "10 mg", "daily"]
    assert note_lines(NOTE, ENTS) == [
        HEADER,
        (("DOCTOR", "DATE"), ("Seen by Dr. ", ", MD on ", ".")),
        (("DRUG", "DOSE", "FREQUENCY"), ("", " ", " ", "")),
    ]  # "Plan:" holds no entity: no template
    crossing = "Dx: heart\nfailure, on lasix\nBP ok"
    spans = [(4, 17), (22, 27)]  # "heart\nfailure" crosses a line end: both lines it touches are left out
    assert line_groups(crossing, spans) == []
    assert line_groups(crossing + "\nRx: lasix", spans + [(38, 43)]) == [(34, 43, [2])]


def test_templates_many_units_share_are_released_in_the_same_release():
    units = [[HEADER, (("DOCTOR",), (f"Prof. {i} ", ""))] for i in range(300)]
    release = release_contexts(
        [[] for _ in units],
        ["DOCTOR", "PATIENT"],
        noise_multiplier=1.0,
        delta=1e-3,
        words=0,
        lines=1,
        line_units=units,
    )
    assert release.keys_per_unit == 1 and release.threshold == pytest.approx(1 + norm.isf(1e-3))
    # each unit has 2 distinct templates but counts for lines = 1 of them, drawn at random
    assert [(labels, pieces) for labels, pieces, _ in release.templates] == [
        (list(HEADER[0]), list(HEADER[1]))
    ]
    assert 110 < release.templates[0][2] < 190
    both = release_contexts(
        [[("DOCTOR", "left", "Dr. ")]] * 300,
        ["DOCTOR", "PATIENT"],
        noise_multiplier=1.0,
        delta=1e-3,
        words=1,
        lines=2,
        line_units=units,
    )
    assert both.keys_per_unit == 2 * 2 + 2 and both.sigma == pytest.approx(6**0.5)
    assert both.record()["lines_released"] == 1 and both.record()["released"] == 1
    assert both.templates[0][2] == pytest.approx(300, abs=6 * both.sigma)


def test_bad_line_release_inputs_are_clear_errors():
    with pytest.raises(ValueError, match="Nothing to release"):
        release_contexts([[]], ["CITY"], noise_multiplier=1.0, delta=1e-3, words=0)
    with pytest.raises(ValueError, match="line templates of all 2 units"):
        release_contexts(
            [[], []], ["CITY"], noise_multiplier=1.0, delta=1e-3, words=0, lines=2, line_units=[[]]
        )
    with pytest.raises(ValueError, match="words and lines must be >= 0"):
        context_settings({"lines": -1}, dp=True)
    with pytest.raises(ValueError, match="differential privacy"):
        context_settings({"lines": 8}, dp=False)
    assert context_settings({"lines": 8}, dp=True).words == 0


def test_source_lines_are_written_from_templates_and_merged_in_source_order():
    templates = [
        [list(HEADER[0]), ["Patient: ", "  MR#: ", ""], 40.0],
        [["DRUG", "DOSE", "FREQUENCY"], ["1. "] * 1 + [" ", " ", ""], 30.0],
    ]
    written = {0: "Ann Roe", 1: "999", 2: "Kim", 3: "1/2/2021", 4: "Lisinopril", 5: "10 mg", 6: "daily"}
    lines = template_lines(NOTE, ENTS, written, templates, random.Random(0))
    assert [first for first, _ in lines] == [0, 4]
    assert "".join(s.text for s in lines[0][1]) == "Patient: Ann Roe  MR#: 999\n"
    assert [(s.text, s.label, s.source) for s in lines[1][1] if s.label] == [
        ("Lisinopril", "DRUG", 4),
        ("10 mg", "DOSE", 5),
        ("daily", "FREQUENCY", 6),
    ]
    partial = dict(written)
    del partial[1]  # an entity of the line is not written (dropped, or in another part): no template
    assert [first for first, _ in template_lines(NOTE, ENTS, partial, templates, random.Random(0))] == [4]
    generated = [  # the model wrote every plan entity, the templated ones too
        Segment("Note\nPt "),
        Segment("Ann Roe", "PATIENT", 0),
        Segment(" xx "),
        Segment("999", "MEDICALRECORD", 1),
        Segment("\nseen by "),
        Segment("Kim", "DOCTOR", 2),
        Segment(" on "),
        Segment("1/2/2021", "DATE", 3),
        Segment(" Lisinopril", "DRUG", 4),
        Segment(" "),
        Segment("10 mg", "DOSE", 5),
        Segment(" daily", "FREQUENCY", 6),
        Segment("\nsalad\n"),
    ]
    merged = merge_lines(generated, lines)
    text = "".join(s.text for s in merged)
    # the header line gives way to its template; the drug line's entities leave the line they shared
    # with the doctor and date, which stay
    assert text == (
        "Note\nPatient: Ann Roe  MR#: 999\nseen by Kim on 1/2/2021\n1. Lisinopril 10 mg daily\nsalad\n"
    )
    assert [s.source for s in merged if s.label] == [0, 1, 2, 3, 4, 5, 6]
    assert merge_lines(generated, []) == generated
    unwritten = [s for s in generated if s.source not in (0, 1)]  # a templated line the model did not write
    text = "".join(s.text for s in merge_lines(unwritten, lines[:1]))
    assert text.startswith("Note\nPt  xx \nPatient: Ann Roe  MR#: 999\nseen by Kim")  # before later entities
    at_end = merge_lines([Segment("Note\nseen by ")], lines)  # no generated entity: at the end
    assert "".join(s.text for s in at_end).startswith("Note\nseen by \nPatient: Ann Roe")


def shape(pieces, labels) -> str:
    return "".join(
        piece + (f"<{label}>" if label else "") for piece, label in zip(pieces, list(labels) + [""])
    )


def test_v3_writes_source_lines_from_released_templates(context_model, demo_dir, tmp_path):
    record = srsly.read_json(context_model / "privacy.json")["contexts"]
    templates = read_contexts(context_model / CONTEXTS_FILE)["lines"]
    assert record["lines"] == 16 and record["lines_released"] == len(templates) > 0
    assert record["keys_per_unit"] > 16 and record["sigma"] == pytest.approx(
        0.5 * record["keys_per_unit"] ** 0.5
    )
    released = {shape(pieces, labels) for labels, pieces, _ in templates}
    docs = [d for d in DocBinCorpus(demo_dir / "test.spacy").docs(spacy.blank("en")) if len(d.ents) <= 12][:3]
    v3 = synth(context_model, V3)
    first = []
    for doc in v3.pipe(docs):
        report, synthetic = doc._.synthetic_report, doc._.synthetic
        assert report["lines_written"] > 0 and report["entities_missing"] == 0
        assert sorted(e.label_ for e in synthetic.ents) == sorted(e.label_ for e in doc.ents)
        shapes, start = [], 0  # each synthetic line as a template
        for line in synthetic.text.split("\n"):
            ents = [e for e in synthetic.ents if start <= e.start_char and e.end_char <= start + len(line)]
            cuts = [start] + [x for e in ents for x in (e.start_char, e.end_char)] + [start + len(line)]
            pieces = [synthetic.text[cuts[i] : cuts[i + 1]] for i in range(0, len(cuts), 2)]
            shapes.append(shape(pieces, [e.label_ for e in ents]))
            start += len(line) + 1
        assert sum(s in released for s in shapes) >= report["lines_written"]
        first.append(synthetic.text)
    for doc in synth(context_model, V2).pipe(docs):
        assert "lines_written" not in doc._.synthetic_report
    v3.to_disk(tmp_path / "pipeline")
    again = spacy.load(tmp_path / "pipeline")
    assert [d._.synthetic.text for d in again.pipe(docs)] == first


SOCIAL = "SOCIAL HISTORY: Works as a chef. Lives in Reno, NV with her son Tom. Denies tobacco use."
SOCIAL_ENTS = [(27, 31, "PROFESSION"), (42, 46, "CITY"), (48, 50, "STATE"), (64, 67, "PATIENT")]


def test_a_line_is_cut_into_sentences_but_not_at_titles_list_numbers_or_entities():
    def cut(text, spans=()):
        return [text[a:b] for a, b in sentence_cuts(text, 0, len(text), spans)]

    assert [SOCIAL[s:e] for s, e, _ in SOCIAL_ENTS] == ["chef", "Reno", "NV", "Tom"]
    assert cut(SOCIAL) == [
        "SOCIAL HISTORY: Works as a chef.",
        "Lives in Reno, NV with her son Tom.",
        "Denies tobacco use.",
    ]
    assert cut("1. Aspirin daily. Seen by Dr. Lee and Mrs. Roe.  HR 72. Temp 98.6 F") == [
        "1. Aspirin daily.",
        "Seen by Dr. Lee and Mrs. Roe.",
        "HR 72.",
        "Temp 98.6 F",
    ]
    hospital = "Seen at Mercy Hosp. North today. Stable."
    assert cut(hospital, [(8, 24)]) == ["Seen at Mercy Hosp. North today.", "Stable."]  # no cut in an entity
    assert cut(hospital) == ["Seen at Mercy Hosp.", "North today.", "Stable."]


def test_sentence_templates_are_cut_counted_and_written_one_line_per_run():
    assert note_lines(SOCIAL, SOCIAL_ENTS, sentences=True) == [
        (("PROFESSION",), ("SOCIAL HISTORY: Works as a ", ".")),
        (("CITY", "STATE", "PATIENT"), ("Lives in ", ", ", " with her son ", ".")),
    ]  # "Denies tobacco use." holds no entity: no template
    assert note_lines(SOCIAL, SOCIAL_ENTS) == [
        (("PROFESSION", "CITY", "STATE", "PATIENT"), SOCIAL_PIECES)
    ]  # one whole-line template otherwise
    notes = [TrainingNote(SOCIAL, SOCIAL_ENTS, unit="P1"), TrainingNote(NOTE, ENTS, unit="P1")]
    settings = context_settings({"lines": 8, "sentences": True}, dp=True)
    _, units = context_units(notes, settings, "patient")
    assert len(units) == 1 and len(units[0]) == 2 + 3  # the lines of NOTE hold one sentence each
    release = release_contexts(
        [[]] * 300,
        ["PROFESSION"],
        noise_multiplier=1.0,
        delta=1e-3,
        words=0,
        lines=8,
        line_units=units * 300,
        sentences=True,
    )
    assert release.record()["sentences"] is True and release.record()["lines_released"] == 5
    with pytest.raises(ValueError, match="sentences must be true or false"):
        context_settings({"lines": 8, "sentences": "yes"}, dp=True)

    templates = [
        [["PROFESSION"], ["SOCIAL HISTORY: Occupation: ", "."], 30.0],
        [["CITY", "STATE", "PATIENT"], ["Lives in ", ", ", " with his daughter ", "."], 30.0],
    ]
    written = {0: "nurse", 1: "Ames", 2: "IA", 3: "Kay"}
    lines = template_lines(SOCIAL, SOCIAL_ENTS, written, templates, random.Random(0), sentences=True)
    assert [(first, "".join(s.text for s in line)) for first, line in lines] == [
        (0, "SOCIAL HISTORY: Occupation: nurse. Lives in Ames, IA with his daughter Kay.\n")
    ]  # the two templated sentences of the line, on one line
    assert [s.source for s in lines[0][1] if s.label] == [0, 1, 2, 3]
    # the first sentence without a template: the second is written alone, keyed by its first entity
    lines = template_lines(SOCIAL, SOCIAL_ENTS, written, templates[1:], random.Random(0), sentences=True)
    assert [first for first, _ in lines] == [1]
    # sentences of two lines, or with an untemplated entity between them, are not joined
    two = "Pt: Ann Roe. MRN: 12. Seen by Dr. Lee.\nDr. Lee."
    spans = [(4, 11, "PATIENT"), (18, 20, "MEDICALRECORD"), (34, 37, "DOCTOR"), (43, 46, "DOCTOR")]
    rows = [[["PATIENT"], ["Pt: ", "."], 30.0], [["DOCTOR"], ["Seen by Dr. ", "."], 30.0]]
    written = {0: "Bo Li", 1: "99", 2: "Kim", 3: "Kim"}
    lines = template_lines(two, spans, written, rows, random.Random(0), sentences=True)
    assert ["".join(s.text for s in line) for _, line in lines] == [
        "Pt: Bo Li.\n",
        "Seen by Dr. Kim.\n",
        "Seen by Dr. Kim.\n",
    ]


def test_a_sentence_keeps_its_negation_when_written_from_a_template():
    assert (
        negated(["Denies ", "."]) and negated(["Imaging: ", " negative for bleed"]) and negated(["R/O ", ""])
    )
    assert not negated(["Pt c/o ", "."]) and not negated(["Notable for ", ""]) and not negated(["Known ", ""])
    templates = [[["PROBLEM"], ["Denies ", "."], 60.0], [["PROBLEM"], ["Patient reports ", "."], 20.0]]
    note = "Pt c/o chest pain. No fever. Hx of gout."
    spans = [(7, 17, "PROBLEM"), (22, 27, "PROBLEM"), (35, 39, "PROBLEM")]
    written = {0: "chest pain", 1: "fever", 2: "gout"}
    for seed in range(20):
        lines = template_lines(note, spans, written, templates, random.Random(seed), sentences=True)
        text = "".join(s.text for _, line in lines for s in line)
        assert text == "Patient reports chest pain. Denies fever. Patient reports gout.\n"
    affirmed = templates[1:]  # no negated template: the negated sentence is left to the model
    lines = template_lines(note, spans, written, affirmed, random.Random(0), sentences=True)
    assert [(first, "".join(s.text for s in line)) for first, line in lines] == [
        (0, "Patient reports chest pain.\n"),
        (2, "Patient reports gout.\n"),
    ]
    # whole-line templates are drawn by their labels alone, as before
    assert template_lines("No fever", [(3, 8, "PROBLEM")], {0: "fever"}, affirmed, random.Random(0))


def test_v3_follows_a_release_of_sentence_templates(context_model, demo_dir, tmp_path):
    docs = [
        d for d in DocBinCorpus(demo_dir / "test.spacy").docs(spacy.blank("en")) if "SOCIAL HISTORY" in d.text
    ]
    doc = min(docs, key=len)
    model = tmp_path / "model"
    shutil.copytree(context_model, model)
    data = srsly.read_json(model / CONTEXTS_FILE)
    data["record"]["sentences"] = True
    social = doc.text[doc.text.index("SOCIAL HISTORY") :].split("\n")[0]
    labels = [e.label_ for e in doc.ents if e.start_char >= doc.text.index(social)][:4]
    assert labels[0] == "PROFESSION" and labels[1:3] == ["CITY", "STATE"], social
    data["lines"] = [
        [["PROFESSION"], ["SOCIAL HISTORY: Occupation: ", "."], 30.0],
        [labels[1:], ["Lives in ", ", ", " with kin ", "."], 30.0],
    ]
    srsly.write_json(model / CONTEXTS_FILE, data)
    synthetic = synth(model, V3)(doc)._.synthetic
    line = next(x for x in synthetic.text.split("\n") if x.startswith("SOCIAL HISTORY: Occupation: "))
    ents = [e for e in synthetic.ents if e.start_char >= synthetic.text.index(line)][:4]
    assert [e.label_ for e in ents] == labels
    words = [e.text for e in ents]
    assert line == "SOCIAL HISTORY: Occupation: {}. Lives in {}, {} with kin {}.".format(*words)
    data["record"]["sentences"] = "yes"
    srsly.write_json(model / CONTEXTS_FILE, data)
    with pytest.raises(ValueError, match="sentences must be true or false"):
        read_contexts(model / CONTEXTS_FILE)


def test_a_corrupt_line_template_is_a_clear_error(context_model, tmp_path):
    data = srsly.read_json(context_model / CONTEXTS_FILE)
    data["lines"] = [[["DOCTOR"], ["Dr. "], 12.0]]  # one piece for one label: two are needed
    srsly.write_json(tmp_path / CONTEXTS_FILE, data)
    with pytest.raises(ValueError, match="bad line template"):
        read_contexts(tmp_path / CONTEXTS_FILE)
