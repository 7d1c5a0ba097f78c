"""EntityConditioned generator, the marked-note format, and train-causal with and without DP."""

import shutil
from pathlib import Path

import pytest
import spacy
import srsly
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from spacy_synthnotes import EntityConditionedGenerator, generate_from_entities
from spacy_synthnotes.cli import app
from spacy_synthnotes.generators.causal_lm import is_causal, round_trip_problem
from spacy_synthnotes.generators.entity_format import (
    CLOSE,
    END,
    OPEN,
    mark_note,
    note_parts,
    parse_marked,
    serialize_plan,
)
from spacy_synthnotes.labels import DEFAULT_PHI_LABELS
from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.training.causal import PrivacySettings, privacy_settings, split_note, train_causal
from spacy_synthnotes.training.common import load_config
from spacy_synthnotes.training.corpus import TrainingNote

ROOT = Path(__file__).parents[1]
TINY = {
    "tokenizer.vocab_size": 600,
    "model.hidden_size": 48,
    "model.num_layers": 2,
    "model.num_heads": 2,
    "model.intermediate_size": 96,
    "model.max_length": 384,
    "training.epochs": 2,
    "training.batch_size": 8,
    "corpora.train.limit": 40,
    "corpora.dev.limit": 6,
}


def tiny_config(demo_dir, **extra):
    overrides = {
        **TINY,
        "paths.train": str(demo_dir / "train.spacy"),
        "paths.dev": str(demo_dir / "dev.spacy"),
    }
    return load_config(ROOT / "configs/causal_small.cfg", {**overrides, **extra})


@pytest.fixture(scope="module")
def causal_model(demo_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("causal")
    meta = train_causal(tiny_config(demo_dir), output, log=lambda m: None)
    assert meta["privacy"] is None and meta["phi_replacement"] == "surrogate"
    return output / "model-best"


@pytest.fixture(scope="module")
def dp_model(demo_dir, tmp_path_factory):
    """A few DP-SGD steps with the default (Llama-style) architecture."""
    output = tmp_path_factory.mktemp("causal_dp")
    meta = train_causal(
        tiny_config(demo_dir, **{"training.privacy.target_epsilon": 8.0}), output, log=lambda m: None
    )
    assert meta["privacy"]["steps"] >= 2
    return output / "model-last"


@pytest.fixture(scope="module")
def short_docs(demo_dir):
    """Test notes with at most 12 entities (they fit the tiny model's context)."""
    docs = DocBinCorpus(demo_dir / "test.spacy").docs(spacy.blank("en"))
    return [d for d in docs if len(d.ents) <= 12][:4]


def synth_nlp(model, **config):
    nlp = spacy.blank("en")
    generator = {"@misc": "spacy_synthnotes.EntityConditioned.v1", "model": str(model), "max_new_tokens": 200}
    nlp.add_pipe("synth_notes", config={"generator": {**generator, **config}, "seed": 4})
    return nlp


# -- the format ------------------------------------------------------------------------------------


def test_marked_notes_parse_back_to_exact_spans(test_docs):
    docs, _ = test_docs
    for doc in docs:
        entities = [(e.start_char, e.end_char, e.label_) for e in doc.ents]
        plan = [(e.label_, e.text) for e in doc.ents]
        segments, counts = parse_marked(mark_note(doc.text, entities), plan)
        assert "".join(s.text for s in segments) == doc.text
        spans, offset = [], 0
        for segment in segments:
            if segment.label is not None:
                spans.append((offset, offset + len(segment.text), segment.label))
                assert plan[segment.source] == (segment.label, segment.text)
            offset += len(segment.text)
        assert spans == entities
        assert counts["entities_written"] == len(entities) and counts["entities_missing"] == 0


def test_parse_degrades_gracefully():
    plan = [("PROBLEM", "cough"), ("DRUG", "albuterol"), ("PROBLEM", "cough")]
    text = f"Pt has {OPEN}cough{CLOSE} and {OPEN}wheeze{CLOSE}, "
    text += f"{OPEN}albuterol given {CLOSE}x{OPEN}cough{CLOSE}{END}junk"
    segments, counts = parse_marked(text, plan)
    assert "".join(s.text for s in segments) == "Pt has cough and wheeze, albuterol given xcough"
    assert [(s.text, s.label, s.source) for s in segments if s.label] == [
        ("cough", "PROBLEM", 0),
        ("cough", "PROBLEM", 2),
    ]
    assert counts == {
        "entities_written": 2,
        "entities_missing": 1,
        "unknown_markers": 2,
        "unclosed_markers": 0,
    }
    segments, counts = parse_marked(f"{OPEN}cough {OPEN}cough{CLOSE} end", plan)
    assert counts["unclosed_markers"] == 1 and counts["entities_written"] == 1


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", " ", "cough", OPEN, CLOSE, END, "<|plan|>", "x y"]), max_size=30))
def test_parse_never_crashes_or_mislabels(pieces):
    plan = [("PROBLEM", "cough"), ("DRUG", "x y")]
    segments, counts = parse_marked("".join(pieces), plan)
    for segment in segments:
        assert OPEN not in segment.text and CLOSE not in segment.text
        if segment.label is not None:
            assert plan[segment.source] == (segment.label, segment.text)
    assert counts["entities_written"] + counts["entities_missing"] == len(plan)


def test_plan_serialization_is_one_line_per_entity():
    prompt = serialize_plan([("PROBLEM", "chest\npain"), ("DRUG", f"x{OPEN}")], "progress note")
    assert prompt.splitlines()[1:3] == ["PROBLEM: chest pain", "DRUG: x"]
    assert prompt.startswith("<|plan|>note type: progress note") and prompt.endswith("<|note|>")


def test_long_notes_are_cut_at_line_ends_outside_entities():
    text = "HPI: cough.\nMeds: aspirin\n81 mg daily.\nPlan: rest.\n"
    entities = [(5, 10), (18, 31)]  # "cough"; "aspirin\n81 mg" spans a line end: no cut inside it

    def cost(start, end):
        return end - start  # one "token" per character

    assert note_parts(text, entities, cost, 100) == [(0, len(text))]
    parts = note_parts(text, entities, cost, 20)
    assert parts == [(0, 12), (12, 39), (39, 51)]
    assert "".join(text[a:b] for a, b in parts) == text
    assert all(text[b - 1] == "\n" for _, b in parts)
    assert text[12:39] == "Meds: aspirin\n81 mg daily.\n"  # over budget, but one line once joined: kept whole
    assert note_parts("", [], cost, 5) == [(0, 0)]
    assert note_parts("one long line without an end", [], cost, 5) == [(0, 28)]


def test_plan_of_a_part_says_which_part():
    assert serialize_plan([("DRUG", "x")], "discharge summary", (2, 3)).splitlines()[:3] == [
        "<|plan|>note type: discharge summary",
        "part: 2 of 3",
        "DRUG: x",
    ]
    assert "part:" not in serialize_plan([("DRUG", "x")], "note", (1, 1))


def test_training_cuts_a_long_note_into_examples_that_fit(causal_model, test_docs):
    from transformers import AutoTokenizer

    from spacy_synthnotes.training.causal import note_texts

    tokenizer = AutoTokenizer.from_pretrained(str(causal_model))
    docs, _ = test_docs
    doc = max(docs, key=len)
    note = TrainingNote(
        doc.text, [(e.start_char, e.end_char, e.label_) for e in doc.ents], "discharge summary"
    )
    parts = split_note(note, tokenizer, 384)
    assert len(parts) > 1 and "".join(p.text for p in parts) == note.text
    assert [p.part for p in parts] == [(k, len(parts)) for k in range(1, len(parts) + 1)]
    assert [(p.text[a:b], label) for p in parts for a, b, label in p.entities] == [
        (e.text, e.label_) for e in doc.ents
    ]
    for part in parts:
        prompt, target = note_texts(part)
        assert f"part: {part.part[0]} of {len(parts)}" in prompt
        assert len(tokenizer(prompt + target, add_special_tokens=False)["input_ids"]) <= 384
    short = TrainingNote("Pt c/o cough.", [(7, 12, "PROBLEM")])
    assert split_note(short, tokenizer, 384) == [short]


# -- the generator ---------------------------------------------------------------------------------


def test_tokenizer_keeps_the_markers(causal_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(causal_model))
    marked = mark_note("Pt c/o chest pain, started lisinopril 10 mg.", [(7, 17, "PROBLEM"), (27, 37, "DRUG")])
    ids = tokenizer(serialize_plan([("PROBLEM", "chest pain")]) + marked, add_special_tokens=False)[
        "input_ids"
    ]
    assert tokenizer.decode(ids, clean_up_tokenization_spaces=False).endswith(marked)


def test_pipe_spans_are_exact_and_constrained_decoding_covers_the_plan(causal_model, short_docs):
    nlp = synth_nlp(causal_model, num_candidates=2)
    component = nlp.get_pipe("synth_notes")
    for doc in nlp.pipe(short_docs):
        synthetic, report = doc._.synthetic, doc._.synthetic_report
        assert report["entities_missing"] == 0 and report["entities_written"] == len(doc.ents)
        # ...and no stray marker, so candidates tie on the ranking key (the config samples one)
        assert report["unknown_markers"] == 0 and report["unclosed_markers"] == 0
        assert report["candidates"] == 2
        written = {}
        for record in doc._.synthetic_alignment:
            start, end, label = record["target"]
            written[(start, end)] = label
            if record["action"] == "keep":
                assert synthetic.text[start:end] == doc.text[record["source"][0] : record["source"][1]]
        assert {(e.start_char, e.end_char): e.label_ for e in synthetic.ents} == written
        assert [e.label_ for e in synthetic.ents] == [e.label_ for e in doc.ents]
    assert component.privacy is None


def test_a_long_note_is_written_in_parts_with_every_entity(causal_model, test_docs):
    docs, _ = test_docs
    doc = max(docs, key=len)
    nlp = synth_nlp(causal_model, max_new_tokens=384)
    synthetic, report = nlp(doc)._.synthetic, nlp(doc)._.synthetic_report
    assert report["parts"] > 1
    assert report["entities_missing"] == 0 and report["entities_written"] == len(doc.ents)
    assert [e.label_ for e in synthetic.ents] == [e.label_ for e in doc.ents]
    kept = [e.text for e in doc.ents if e.label_ not in DEFAULT_PHI_LABELS]
    assert kept and [e.text for e in synthetic.ents if e.label_ not in DEFAULT_PHI_LABELS] == kept


def test_unconstrained_decoding_counts_what_is_missing(causal_model, short_docs):
    nlp = synth_nlp(causal_model, constrained=False, max_new_tokens=40)
    for doc in nlp.pipe(short_docs[:2]):
        report = doc._.synthetic_report
        assert report["entities_written"] + report["entities_missing"] == len(doc.ents)
        assert report["kept"] + report["phi_replaced"] == report["entities_written"]


def test_same_seed_same_note(causal_model, short_docs):
    first = [d._.synthetic.text for d in synth_nlp(causal_model).pipe(short_docs[:2])]
    again = [d._.synthetic.text for d in synth_nlp(causal_model).pipe(short_docs[:2])]
    other = [d._.synthetic.text for d in synth_nlp(causal_model, seed=9).pipe(short_docs[:2])]
    assert first == again and first != other


def test_generate_from_entities(causal_model):
    generator = EntityConditionedGenerator(str(causal_model), max_new_tokens=120)
    facts = [("PROBLEM", "Fabry disease"), ("DRUG", "agalsidase beta"), ("DOSE", "1 mg/kg")]
    doc = generate_from_entities(facts, generator, note_type="progress note", seed=1)
    assert [(e.label_, e.text) for e in doc.ents] == facts
    assert doc.user_data["synthetic_report"]["entities_missing"] == 0


def test_pipeline_round_trip_is_self_contained(causal_model, short_docs, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(causal_model, model)
    nlp = synth_nlp(model)
    before = [d._.synthetic.text for d in nlp.pipe(short_docs[:1])]
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model)
    loaded = spacy.load(tmp_path / "pipeline")
    assert [d._.synthetic.text for d in loaded.pipe(short_docs[:1])] == before


def test_a_model_not_trained_for_the_format_is_a_clear_error(tmp_path):
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    plain = tmp_path / "plain"
    config = LlamaConfig(
        vocab_size=50, hidden_size=16, intermediate_size=32, num_hidden_layers=1, num_attention_heads=2
    )
    LlamaForCausalLM(config).save_pretrained(plain)
    raw = Tokenizer(models.WordLevel({"[UNK]": 0, "a": 1}, unk_token="[UNK]"))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    PreTrainedTokenizerFast(tokenizer_object=raw, unk_token="[UNK]").save_pretrained(plain)
    with pytest.raises(ValueError, match="lacks the entity-format tokens"):
        EntityConditionedGenerator(str(plain)).load(plain)
    with pytest.raises(ValueError, match="not a loadable causal-LM directory"):
        EntityConditionedGenerator(str(tmp_path)).load(tmp_path)


def test_fine_tuning_a_local_model_adds_the_format_tokens(demo_dir, causal_model, tmp_path):
    # A local Hugging Face causal LM without our tokens: the recipe adds them and resizes embeddings.
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = tmp_path / "base"
    tokenizer = AutoTokenizer.from_pretrained(str(causal_model))
    model = AutoModelForCausalLM.from_pretrained(str(causal_model))
    model.save_pretrained(base)
    tokenizer.save_pretrained(base)
    overrides = {"paths.init": str(base), "training.epochs": 1, "corpora.train.limit": 8}
    overrides.update({"training.canaries.repeats": [2], "training.canaries.per_repeat": 1})
    messages = []
    meta = train_causal(tiny_config(demo_dir, **overrides), tmp_path / "tuned", log=messages.append)
    assert meta["step"] >= 1 and "Planted 4 canary notes (42 canaries)" in messages
    assert len(srsly.read_json(tmp_path / "tuned" / "model-best" / "canaries.json")) == 42
    EntityConditionedGenerator(str(tmp_path / "tuned" / "model-best")).load(tmp_path / "tuned" / "model-best")


def tiny_encoder(path: Path, tokenizer) -> Path:
    """A one-layer BERT masked LM saved with `tokenizer`: an encoder checkpoint, as users have them."""
    from transformers import BertConfig, BertForMaskedLM

    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=384,
    )
    BertForMaskedLM(config).save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def test_causality_and_round_trip_probes(causal_model, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(causal_model))
    assert is_causal(AutoModelForCausalLM.from_pretrained(str(causal_model)))
    assert round_trip_problem(tokenizer) is None
    encoder = tiny_encoder(tmp_path / "encoder", tokenizer)
    # Hugging Face loads an encoder as a "causal LM" that reads later tokens; as a decoder it does not.
    assert not is_causal(AutoModelForCausalLM.from_pretrained(str(encoder)))
    assert is_causal(AutoModelForCausalLM.from_pretrained(str(encoder), is_decoder=True))


def test_the_generator_refuses_an_encoder(causal_model, tmp_path):
    from transformers import AutoTokenizer

    encoder = tiny_encoder(tmp_path / "encoder", AutoTokenizer.from_pretrained(str(causal_model)))
    with pytest.raises(ValueError, match=r"encoder.*is not a causal LM: its predictions depend on later"):
        EntityConditionedGenerator(str(encoder)).load(encoder)


def test_an_encoder_is_warm_started_as_a_decoder_with_dp(demo_dir, causal_model, tmp_path):
    # Rothe et al. (2020): the recipe trains an encoder checkpoint as a decoder. Under DP-SGD what Opacus
    # cannot clip per sample is frozen (word embeddings tied to the LM head, positions looked up once per
    # batch, the head's own bias), and the rest trains.
    from transformers import AutoTokenizer

    encoder = tiny_encoder(tmp_path / "encoder", AutoTokenizer.from_pretrained(str(causal_model)))
    overrides = {"paths.init": str(encoder), "training.epochs": 1, "corpora.train.limit": 8}
    overrides["training.privacy.noise_multiplier"] = 0.5
    messages = []
    meta = train_causal(tiny_config(demo_dir, **overrides), tmp_path / "tuned", log=messages.append)
    assert meta["privacy"]["steps"] >= 1
    frozen = [m for m in messages if "parameters frozen" in m]
    assert len(frozen) == 1
    names = ["word_embeddings.weight", "position_embeddings.weight", "cls.predictions.bias"]
    assert all(f"'{name}'" in frozen[0] or f".{name}'" in frozen[0] for name in names)
    assert "token_type_embeddings" not in frozen[0] and "encoder.layer" not in frozen[0]
    generator = EntityConditionedGenerator(str(tmp_path / "tuned" / "model-last"), max_new_tokens=40)
    assert generator.model.config.is_decoder and is_causal(generator.model)
    doc = generate_from_entities([("PROBLEM", "chest pain"), ("DRUG", "aspirin")], generator, seed=1)
    assert [(e.label_, e.text) for e in doc.ents] == [("PROBLEM", "chest pain"), ("DRUG", "aspirin")]


def test_a_tokenizer_that_alters_text_is_refused(demo_dir, tmp_path):
    # WordPiece (BERT's tokenizer) lowercases and drops line breaks: every note would come back altered.
    from transformers import BertTokenizerFast

    vocab = tmp_path / "vocab.txt"
    words = "hpi mr o neil 72 bp 120 80 sitting started lisinopril 10 mg daily see q d b i".split()
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"':,./();-", *words]) + "\n")
    encoder = tiny_encoder(tmp_path / "encoder", BertTokenizerFast(str(vocab), do_lower_case=True))
    config = tiny_config(demo_dir, **{"paths.init": str(encoder), "corpora.train.limit": 4})
    with pytest.raises(
        ValueError, match=r'encoder cannot write a note unchanged: .* comes back as "hpi : mr'
    ):
        train_causal(config, tmp_path / "out", log=lambda m: None)


def test_a_model_from_scratch_freezes_nothing_under_dp(demo_dir, tmp_path):
    messages = []
    overrides = {"training.privacy.noise_multiplier": 0.5, "training.epochs": 1, "corpora.train.limit": 8}
    train_causal(tiny_config(demo_dir, **overrides), tmp_path / "dp", log=messages.append)
    assert any(m.startswith("DP-SGD:") for m in messages)
    assert not any("frozen" in m for m in messages)


# -- differential privacy --------------------------------------------------------------------------


def test_dp_record_matches_the_accountant(dp_model):
    from opacus.accountants import create_accountant

    record = srsly.read_json(dp_model / "privacy.json")
    accountant = create_accountant(record["accountant"])
    accountant.history = [(record["noise_multiplier"], record["sample_rate"], record["steps"])]
    assert accountant.get_epsilon(record["delta"]) == pytest.approx(record["epsilon"], rel=1e-6)
    assert record["epsilon"] <= 8.0 + 1e-6 and record["unit"] == "patient"
    assert record["delta"] < 1 / record["n_units"]
    meta = srsly.read_json(dp_model / "synthnotes_causal.json")
    assert meta["privacy"] == record


def test_without_patient_ids_the_guarantee_is_per_note(demo_dir, tmp_path):
    from spacy.tokens import DocBin

    docs = list(DocBinCorpus(demo_dir / "train.spacy").docs(spacy.blank("en")))[:30]
    assert all(doc._.note_meta.get("patient_id") for doc in docs)
    for doc in docs:
        doc._.note_meta = {k: v for k, v in doc._.note_meta.items() if k != "patient_id"}
    DocBin(docs=docs, store_user_data=True).to_disk(tmp_path / "anonymous.spacy")
    overrides = {"paths.train": str(tmp_path / "anonymous.spacy"), "training.privacy.target_epsilon": 8.0}
    logged = []
    train_causal(tiny_config(demo_dir, **overrides), tmp_path / "out", log=logged.append)
    record = srsly.read_json(tmp_path / "out" / "model-last" / "privacy.json")
    assert record["unit"] == "note" and record["n_units"] == 30
    assert any("30 of 30 training notes have no patient id" in line for line in logged)


def test_pipe_exposes_privacy_and_keeps_it_through_to_disk(dp_model, tmp_path):
    nlp = synth_nlp(dp_model, require_privacy=True)
    record = srsly.read_json(dp_model / "privacy.json")
    assert nlp.get_pipe("synth_notes").privacy == record
    nlp.to_disk(tmp_path / "pipeline")
    assert spacy.load(tmp_path / "pipeline").get_pipe("synth_notes").privacy == record


def test_dp_model_without_its_record_refuses_to_load(dp_model, causal_model, tmp_path):
    stripped = tmp_path / "stripped"
    shutil.copytree(dp_model, stripped)
    (stripped / "privacy.json").unlink()
    with pytest.raises(ValueError, match="Refusing to load it as if it were a non-private model"):
        EntityConditionedGenerator(str(stripped)).load(stripped)
    (stripped / "privacy.json").write_text("{not json")
    with pytest.raises(ValueError, match="privacy record"):
        EntityConditionedGenerator(str(stripped)).load(stripped)
    with pytest.raises(ValueError, match="was not trained with DP"):
        EntityConditionedGenerator(str(causal_model), require_privacy=True).load(causal_model)


@pytest.mark.parametrize(
    "block,message",
    [
        ({"target_epsilon": 0}, "target_epsilon must be > 0"),
        ({"target_epsilon": -1.0}, "target_epsilon must be > 0"),
        ({"target_epsilon": 8, "delta": 0.01}, r"delta must be in \(0, 1/N\)"),
        ({"target_epsilon": 8, "noise_multiplier": 1.0}, "not both"),
        ({"noise_multiplier": 1.0, "max_grad_norm": 0}, "max_grad_norm must be > 0"),
        ({"target_epsilon": 8, "accountant": "gdp?"}, "accountant must be one of"),
        ({"target_epsilon": 8, "unit": "ward"}, "unit must be one of"),
    ],
)
def test_bad_privacy_configs_are_clear_errors(block, message):
    with pytest.raises(ValueError, match=message):
        privacy_settings(block, n_units=200)


def test_privacy_defaults():
    assert privacy_settings({"target_epsilon": None}, 100) is None
    settings_ = privacy_settings({"target_epsilon": 4}, 100)
    assert isinstance(settings_, PrivacySettings) and settings_.delta == pytest.approx(100**-1.1)


def test_train_causal_command_reports_a_bad_config(demo_dir, tmp_path):
    args = ["train-causal", str(ROOT / "configs/causal_small.cfg"), "--output", str(tmp_path)]
    args += ["--paths.train", str(demo_dir / "train.spacy"), "--paths.dev", str(demo_dir / "dev.spacy")]
    result = CliRunner().invoke(
        app, [*args, "--training.privacy.target_epsilon", "0", "--corpora.train.limit", "5"]
    )
    assert result.exit_code == 1 and "target_epsilon must be > 0" in result.output


def test_causal_scorer_matches_a_manual_computation(causal_model):
    import torch

    from spacy_synthnotes.privacy.scoring import CausalLMScorer, load_scorer

    scorer = load_scorer(causal_model)
    assert isinstance(scorer, CausalLMScorer)
    prefix, secret, suffix = "Call her daughter at ", "617-555-0143", " today."
    enc = scorer.tokenizer(prefix + secret + suffix, add_special_tokens=False, return_offsets_mapping=True)
    ids = enc["input_ids"]
    inside = [
        i for i, (a, b) in enumerate(enc["offset_mapping"]) if a < len(prefix + secret) and b > len(prefix)
    ]
    with torch.no_grad():
        logp = torch.log_softmax(scorer.model(torch.tensor([ids])).logits[0], dim=-1)
    manual = -sum(float(logp[i - 1, ids[i]]) for i in inside if i > 0)
    assert scorer.secret_losses(prefix, [secret], suffix)[0] == pytest.approx(manual, rel=1e-4)
    mean = -sum(float(logp[i - 1, ids[i]]) for i in range(1, len(ids))) / (len(ids) - 1)
    assert scorer.losses([prefix + secret + suffix])[0] == pytest.approx(mean, rel=1e-4)
    # In a batch of texts of other lengths (batched by length), each keeps its own loss.
    texts = ["Seen today.", prefix + secret + suffix, "Follow up in two weeks with the clinic."]
    together = scorer.losses(texts)
    assert together[1] == pytest.approx(mean, rel=1e-4)
    assert together == pytest.approx([scorer.losses([t])[0] for t in texts], rel=1e-4)
