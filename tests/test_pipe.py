"""The synth_notes component: output, alignment, configuration, batching, processes, serialization."""

import pytest
import spacy
from conftest import NOTE, NOTE_SPANS, make_doc
from spacy.tokens import Doc

from spacy_synthnotes.pipe import DEFAULT_CONFIG, note_seed


def _summary(doc: Doc):
    synthetic = doc._.synthetic
    return synthetic.text, [(e.start_char, e.end_char, e.label_) for e in synthetic.ents]


def test_synthetic_doc_keeps_clinical_entities_and_replaces_phi(nlp):
    doc = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    synthetic = doc._.synthetic
    assert isinstance(synthetic, Doc) and synthetic.vocab is nlp.vocab
    by_label = {}
    for ent in synthetic.ents:
        by_label.setdefault(ent.label_, []).append(ent.text)
    assert by_label["PROBLEM"] == ["chest pain"]
    assert by_label["DRUG"] == ["lisinopril"] and by_label["DOSE"] == ["10 mg"]
    for sub, label in NOTE_SPANS:
        if label not in ("PROBLEM", "DRUG", "DOSE", "FREQUENCY"):
            assert sub not in [e.text for e in synthetic.ents if e.label_ == label]
    assert "Smith" not in synthetic.text and "Wong" not in synthetic.text and "00482913" not in synthetic.text
    assert by_label["AGE"] == ["90+"]
    # Every synthetic entity's character span is exact.
    for ent in synthetic.ents:
        assert synthetic.text[ent.start_char : ent.end_char] == ent.text


def test_alignment_maps_every_source_entity(nlp):
    doc = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    synthetic = doc._.synthetic
    alignment = doc._.synthetic_alignment
    assert len(alignment) == len(doc.ents)
    for record, ent in zip(alignment, doc.ents):
        assert record["source"] == [ent.start_char, ent.end_char, ent.label_]
        start, end, label = record["target"]
        assert label == ent.label_
        if record["action"] == "keep":
            assert synthetic.text[start:end] == ent.text
        else:
            assert record["action"] == "phi" and synthetic.text[start:end] != ent.text
    assert doc._.synthetic_report == {"phi_replaced": 11, "kept": 4, "dropped": 0, "residual_phi": 0}


def test_source_doc_is_unchanged(nlp):
    doc = make_doc(nlp, NOTE, NOTE_SPANS)
    before = (doc.text, [t.text for t in doc], [(e.start_char, e.end_char, e.label_) for e in doc.ents])
    nlp(doc)
    assert (
        doc.text,
        [t.text for t in doc],
        [(e.start_char, e.end_char, e.label_) for e in doc.ents],
    ) == before


def test_same_person_gets_one_consistent_surrogate(nlp):
    doc = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    names = [e.text for e in doc._.synthetic.ents if e.label_ == "PATIENT"]
    first, last = names[0].split()
    assert names[1] == last
    assert names[2] == f"{first[0]}. {last}"


def test_keep_labels_and_strict_labels():
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_notes", config={"keep_labels": ["DRUG"]})
    doc = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    labels = {e.label_ for e in doc._.synthetic.ents}
    assert "DRUG" in labels and "PROBLEM" not in labels and "DOSE" not in labels
    assert "chest pain" in doc._.synthetic.text  # the text stays, only the entity is dropped
    assert doc._.synthetic_report["dropped"] == 3

    strict = spacy.blank("en")
    strict.add_pipe("synth_notes", config={"keep_labels": ["DRUG"], "strict_labels": True})
    with pytest.raises(ValueError, match="'PROBLEM', which is neither in phi_labels nor in keep_labels"):
        strict(make_doc(strict, NOTE, NOTE_SPANS))


def test_label_in_phi_and_keep_is_rejected():
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="both phi_labels and keep_labels"):
        nlp.add_pipe("synth_notes", config={"keep_labels": ["DATE"]})


def test_general_ner_labels_are_phi_by_default(nlp):
    doc = nlp(make_doc(nlp, "Seen by Alice Brown in Boston.", [("Alice Brown", "PERSON"), ("Boston", "GPE")]))
    assert "Alice" not in doc._.synthetic.text and "Boston" not in doc._.synthetic.text


def test_empty_doc_and_doc_without_entities(nlp):
    empty = nlp(nlp.make_doc(""))
    assert empty._.synthetic.text == "" and empty._.synthetic_alignment == []
    plain = nlp("No entities in this sentence.")
    assert plain._.synthetic.text == "No entities in this sentence."


def test_seed_is_per_note_and_output_is_deterministic(nlp):
    doc_a = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    doc_b = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    assert _summary(doc_a) == _summary(doc_b)
    other = spacy.blank("en")
    other.add_pipe("synth_notes", config={"seed": 8})
    assert _summary(other(make_doc(other, NOTE, NOTE_SPANS))) != _summary(doc_a)
    assert note_seed(7, NOTE) == note_seed(7, NOTE) != note_seed(8, NOTE)


def test_test_generator_output_is_assembled_with_exact_spans():
    nlp = spacy.blank("en")
    nlp.add_pipe("synth_notes", config={"generator": {"@misc": "spacy_synthnotes.test.Reorder.v1"}})
    doc = nlp(make_doc(nlp, NOTE, NOTE_SPANS))
    synthetic = doc._.synthetic
    assert synthetic.text.startswith("Synthetic note.\nFound daily here.")
    for record in doc._.synthetic_alignment:
        if record["target"] is not None:
            start, end, label = record["target"]
            span = synthetic.char_span(start, end)
            assert span is not None and span.text == synthetic.text[start:end]
            assert (start, end, label) in [(e.start_char, e.end_char, e.label_) for e in synthetic.ents]
    left_out = [r for r in doc._.synthetic_alignment if r["target"] is None]
    assert [r["source"][2] for r in left_out] == ["PROBLEM"]
    assert doc._.synthetic_report["dropped"] == 1 and doc._.synthetic_report["left_out"] == 1


@pytest.mark.parametrize("n_process", [1, 2])
def test_pipe_batching_and_processes_give_the_same_output(test_docs, n_process):
    docs, vocab = test_docs
    nlp = spacy.blank("en", vocab=vocab)
    nlp.add_pipe("synth_notes", config={"seed": 3})
    one_by_one = [_summary(nlp(Doc(vocab).from_bytes(d.to_bytes()))) for d in docs[:24]]
    copies = [Doc(vocab).from_bytes(d.to_bytes()) for d in docs[:24]]
    piped = [_summary(d) for d in nlp.pipe(copies, batch_size=5, n_process=n_process)]
    assert piped == one_by_one


def test_to_disk_and_spacy_load_reproduce_output(tmp_path, nlp):
    expected = _summary(nlp(make_doc(nlp, NOTE, NOTE_SPANS)))
    nlp.to_disk(tmp_path / "pipeline")
    loaded = spacy.load(tmp_path / "pipeline")
    assert loaded.get_pipe("synth_notes").cfg["seed"] == 7
    assert _summary(loaded(make_doc(loaded, NOTE, NOTE_SPANS))) == expected
    component = spacy.blank("en").add_pipe("synth_notes")
    component.from_disk(tmp_path / "pipeline" / "synth_notes")
    assert component.cfg == nlp.get_pipe("synth_notes").cfg
    restored = spacy.blank("en").add_pipe("synth_notes").from_bytes(nlp.get_pipe("synth_notes").to_bytes())
    assert restored.cfg == nlp.get_pipe("synth_notes").cfg


def test_from_disk_of_a_wrong_directory_is_a_clear_error(tmp_path):
    component = spacy.blank("en").add_pipe("synth_notes")
    (tmp_path / "junk").mkdir()
    with pytest.raises(ValueError, match="not a synth_notes directory"):
        component.from_disk(tmp_path / "junk")


def test_config_round_trip(nlp):
    config = nlp.config
    assert config["components"]["synth_notes"]["generator"]["@misc"] == "spacy_synthnotes.Surrogate.v1"
    rebuilt = spacy.util.load_model_from_config(spacy.util.load_config_from_str(config.to_str()))
    doc = make_doc(nlp, NOTE, NOTE_SPANS)
    assert _summary(rebuilt(make_doc(rebuilt, NOTE, NOTE_SPANS))) == _summary(nlp(doc))
    assert DEFAULT_CONFIG["synth_notes"]["keep_labels"] is None


def test_pipeline_config_file_assembles(tmp_path):
    from pathlib import Path

    config = spacy.util.load_config(Path(__file__).parents[1] / "configs" / "synth_surrogate.cfg")
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    assert nlp.pipe_names == ["synth_notes"]
    assert nlp.get_pipe("synth_notes").cfg["phi_labels"] == DEFAULT_CONFIG["synth_notes"]["phi_labels"]
