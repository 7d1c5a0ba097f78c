"""Text-level utility measures on hand-computed examples and on synthetic notes."""

import pytest
import spacy

from spacy_synthnotes.demo import CLINICAL_LABELS
from spacy_synthnotes.utility import distinct_n, entity_preservation, fidelity, fluency, self_bleu


def test_distinct_n_by_hand():
    # Unigrams: a b a b c -> 3 distinct of 5; bigrams: ab ba ab bc -> 3 of 4.
    assert distinct_n(["a b a", "b c"], 1) == pytest.approx(3 / 5)
    assert distinct_n(["a b a b c"], 2) == pytest.approx(3 / 4)
    assert distinct_n([""], 2) == 0.0


def test_self_bleu_is_100_for_copies_and_lower_for_different_notes():
    same = ["the patient was seen today for chest pain and discharged home"] * 3
    assert self_bleu(same) == pytest.approx(100.0)
    varied = [
        "the patient was seen today for chest pain and discharged home",
        "cough improved after albuterol, follow up in two weeks with pulmonology",
        "rash resolved; continue topical steroid twice daily for one more week",
    ]
    assert self_bleu(varied) < 20
    with pytest.raises(ValueError, match="at least two"):
        self_bleu(["one note"])


def test_entity_preservation_counts_multisets_by_hand():
    source = [[("DRUG", "aspirin"), ("DRUG", "aspirin"), ("PROBLEM", "flu")], [("TEST", "CBC")]]
    # One aspirin survives, flu becomes a TEST (wrong label), CBC survives: 2 of 4.
    synthetic = [[("DRUG", "aspirin"), ("TEST", "flu")], [("TEST", "CBC"), ("DRUG", "aspirin")]]
    rate = entity_preservation(source, synthetic)
    assert (rate["k"], rate["n"], rate["value"]) == (2, 4, 0.5)
    assert entity_preservation([[]], [[]])["value"] is None


def test_fidelity_and_entity_preservation_on_synthetic_notes(test_docs, nlp):
    docs, _ = test_docs
    processed = list(nlp.pipe([spacy.tokens.Doc(nlp.vocab).from_bytes(d.to_bytes()) for d in docs[:10]]))
    sources = [d.text for d in processed]
    synthetic = [d._.synthetic.text for d in processed]

    def clinical(doc):
        return [(e.label_, e.text) for e in doc.ents if e.label_ in CLINICAL_LABELS]

    rate = entity_preservation([clinical(d) for d in processed], [clinical(d._.synthetic) for d in processed])
    assert rate["value"] == 1.0 and rate["n"] > 20
    scores = fidelity(sources, synthetic)
    assert 0.7 < scores["rouge1"]["value"] < 1.0  # surrogates change only the PHI
    assert fidelity(sources, sources)["rougeL"]["value"] == pytest.approx(1.0)


def test_fluency_prefers_real_prose_to_shuffled_words():
    reference = [
        "patient denies chest pain and shortness of breath today",
        "patient reports chest pain at rest, denies fever",
        "continue aspirin daily and follow up in clinic",
    ] * 5
    real = ["patient denies chest pain and fever today"]
    shuffled = ["today fever and pain chest denies patient"]
    assert fluency(reference, real)["perplexity"] < fluency(reference, shuffled)["perplexity"]
    with pytest.raises(ValueError, match="held-out"):
        fluency([], real)
