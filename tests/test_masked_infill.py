"""MaskedInfill generator and the train-mlm recipe, with a tiny model trained in a fixture."""

import re
import shutil

import pytest
import spacy
import srsly
from conftest import NOTE, NOTE_SPANS, make_doc
from typer.testing import CliRunner

from spacy_synthnotes.cli import app
from spacy_synthnotes.generators.masked_infill import (
    _WORD,
    MaskedInfillGenerator,
    near_entities,
    run_breakers,
)
from spacy_synthnotes.phi.strings import word_tokens
from spacy_synthnotes.readers import DocBinCorpus
from spacy_synthnotes.training.mlm import load_config, train_mlm

ROOT_CONFIG = "configs/mlm_small.cfg"
TINY = {
    "paths.init": None,
    "tokenizer.vocab_size": 400,
    "model.hidden_size": 32,
    "model.num_layers": 1,
    "model.num_heads": 2,
    "model.intermediate_size": 64,
    "model.max_length": 64,
    "training.steps": 12,
    "training.eval_every": 6,
    "training.batch_size": 8,
    "corpora.train.limit": 40,
    "corpora.dev.limit": 8,
}


def tiny_config(demo_dir, **extra):
    from pathlib import Path

    overrides = {
        **TINY,
        "paths.train": str(demo_dir / "train.spacy"),
        "paths.dev": str(demo_dir / "dev.spacy"),
    }
    overrides.update(extra)
    return load_config(Path(__file__).parents[1] / ROOT_CONFIG, overrides)


@pytest.fixture(scope="module")
def tiny_model(demo_dir, tmp_path_factory):
    output = tmp_path_factory.mktemp("mlm")
    meta = train_mlm(tiny_config(demo_dir), output, log=lambda m: None)
    assert meta["phi_replacement"] == "surrogate" and meta["step"] in (6, 12)
    return output / "model-best"


def synth_nlp(model, **config):
    nlp = spacy.blank("en")
    generator = {"@misc": "spacy_synthnotes.MaskedInfill.v1", "model": str(model), **config}
    nlp.add_pipe("synth_notes", config={"generator": generator, "seed": 3})
    return nlp


def outputs(nlp, docs):
    return [
        (d._.synthetic.text, [(e.start_char, e.end_char, e.label_) for e in d._.synthetic.ents]) for d in docs
    ]


@pytest.fixture(scope="module")
def test_docs(demo_dir):
    return list(DocBinCorpus(demo_dir / "test.spacy", limit=6).docs(spacy.blank("en")))


def copies(nlp, docs):
    from spacy.tokens import Doc

    return [Doc(nlp.vocab).from_bytes(d.to_bytes()) for d in docs]


def test_kept_entities_are_exact_and_text_changes(tiny_model, test_docs):
    nlp = synth_nlp(tiny_model)
    changed, maskable = 0, 0
    for doc in nlp.pipe(copies(nlp, test_docs)):
        synthetic = doc._.synthetic
        assert "##" not in synthetic.text and "[MASK]" not in synthetic.text
        for record in doc._.synthetic_alignment:
            (s, e, _), target = record["source"], record["target"]
            assert target is not None
            if record["action"] == "keep":
                assert synthetic.text[target[0] : target[1]] == doc.text[s:e]
            else:
                assert synthetic.text[target[0] : target[1]] != doc.text[s:e]
        report = doc._.synthetic_report
        changed += report["changed_words"]
        maskable += report["masked_words"]
    assert maskable > 50 and changed / maskable > 0.9


def test_masks_never_touch_protected_text(tiny_model):
    nlp = spacy.blank("en")
    generator = MaskedInfillGenerator(str(tiny_model), mask_rate=1.0)
    component = nlp.add_pipe("synth_notes", config={"seed": 1})
    plan = component.plan(make_doc(nlp, NOTE, NOTE_SPANS))
    import torch

    note = generator._prepare(plan)
    generator._choose_masks(note, torch.Generator().manual_seed(0))
    masked = [p for p in note if p.masked]
    assert masked and all(p.kind == "word" and _WORD.fullmatch(p.text) for p in masked)
    assert {p.text for p in note if p.kind == "entity" and p.label == "DRUG"} == {"lisinopril"}
    assert not any(p.masked for p in note if p.kind != "word")
    # All-caps abbreviations and words glued to digits are not maskable.
    assert not _WORD.search("BP HR SpO2 2L NC")


def test_near_entities_takes_words_on_each_side_up_to_the_next_entity():
    kinds = ["word", "text", "entity", "text", "word", "word", "word", "entity", "word", "word"]
    assert near_entities(kinds, 0) == set()
    assert near_entities(kinds, 1) == {0, 4, 6, 8}
    assert near_entities(kinds, 2) == {0, 4, 5, 6, 8, 9}
    assert near_entities(["entity", "word", "entity"], 3) == {1}
    assert near_entities(["word", "text", "word"], 1) == set()
    with pytest.raises(ValueError, match="context_words must be >= 0"):
        MaskedInfillGenerator("unused", context_words=-1)


def test_run_breakers_change_the_fewest_pieces_that_bound_every_breakable_run():
    assert run_breakers([1] * 30, list(range(30)), 12) == [12, 25]
    # Each change as late as possible: piece 3 breaks the first 13 tokens, 5 ends before the
    # 20-token piece that nothing can break, 7 is the first word after it.
    assert run_breakers([1, 1, 10, 1, 1, 1, 20, 1, 1], [0, 1, 3, 4, 5, 7, 8], 12) == [3, 5, 7]
    assert run_breakers([1] * 12, list(range(12)), 12) == []
    assert run_breakers([5, 5, 5, 5], [], 3) == []
    with pytest.raises(ValueError, match="max_run must be >= 0"):
        MaskedInfillGenerator("unused", max_run=-1)


def breakable_long_windows(note, size=13):
    """Windows of `size` consecutive unchanged tokens that hold a word the masks could have changed."""
    found, run = 0, []  # run: for each unchanged token, whether it is a maskable word's
    for piece in note + [None]:
        if piece is None or piece.masked:
            found += sum(any(run[i : i + size]) for i in range(len(run) - size + 1))
            run = []
            continue
        run += [piece.kind == "word"] * len(word_tokens(piece.text))
    return found


@pytest.mark.parametrize("mask_rate", [0.1, 0.5])
def test_v3_leaves_no_breakable_run_longer_than_max_run(tiny_model, test_docs, mask_rate):
    import torch

    nlp = synth_nlp(tiny_model, **{"@misc": "spacy_synthnotes.MaskedInfill.v3", "mask_rate": mask_rate})
    generator = nlp.get_pipe("synth_notes").generator
    assert generator.cfg["max_run"] == 12 and generator.cfg["context_words"] == 0
    v1 = MaskedInfillGenerator(str(tiny_model), mask_rate=mask_rate)
    long_runs = {"v1": 0, "v3": 0}
    for doc in test_docs:
        plan = nlp.get_pipe("synth_notes").plan(doc)
        for name, gen in (("v1", v1), ("v3", generator)):
            note = gen._prepare(plan)
            gen._choose_masks(note, torch.Generator().manual_seed(0))
            words = sum(p.kind == "word" for p in note)
            # At least the mask rate; more only where a long run needed a break.
            assert sum(p.masked for p in note) >= min(round(words * mask_rate), words)
            long_runs[name] += breakable_long_windows(note)
    assert long_runs["v1"] > 0 and long_runs["v3"] == 0


def words_around(text, start, end, previous_end, next_start):
    before, after = _WORD.findall(text[previous_end:start]), _WORD.findall(text[end:next_start])
    return (before[-1] if before else None, after[0] if after else None)


def test_v2_never_masks_the_word_next_to_an_entity(tiny_model, test_docs):
    nlp = synth_nlp(tiny_model, **{"@misc": "spacy_synthnotes.MaskedInfill.v2", "mask_rate": 1.0})
    v1 = synth_nlp(tiny_model, mask_rate=1.0)
    assert nlp.get_pipe("synth_notes").generator.cfg["context_words"] == 1
    checked, changed = 0, 0
    for doc, plain in zip(nlp.pipe(copies(nlp, test_docs)), v1.pipe(copies(v1, test_docs))):
        synthetic = doc._.synthetic
        records = sorted(doc._.synthetic_alignment, key=lambda r: r["source"][0])
        bounds = [(r["source"][:2], r["target"][:2]) for r in records]
        for i, ((s, e), (ts, te)) in enumerate(bounds):
            previous = bounds[i - 1] if i else ((0, 0), (0, 0))
            following = (
                bounds[i + 1] if i + 1 < len(bounds) else ((len(doc.text),) * 2, (len(synthetic.text),) * 2)
            )
            source = words_around(doc.text, s, e, previous[0][1], following[0][0])
            assert words_around(synthetic.text, ts, te, previous[1][1], following[1][0]) == source
            checked += sum(word is not None for word in source)
        changed += doc._.synthetic_report["changed_words"]
        # v1 masks every word at mask_rate 1.0, so it masks more than v2.
        assert plain._.synthetic_report["masked_words"] > doc._.synthetic_report["masked_words"] > 0
    assert checked > 20 and changed > 20


def test_sampling_filters_each_row_and_never_keeps_the_original(tiny_model):
    import torch

    from spacy_synthnotes.generators.masked_infill import _Piece

    generator = MaskedInfillGenerator(str(tiny_model), top_k=3, top_p=1.0)
    generator.load(str(tiny_model))
    allowed = generator._allowed.nonzero().squeeze(1).tolist()
    vocab = len(generator._allowed)
    logits = torch.zeros((3, vocab))
    ranked = allowed[:5]
    for row in range(3):  # the same ranking of five allowed words in every row
        logits[row, ranked] = torch.tensor([9.0, 8.0, 7.0, 6.0, 5.0])
    logits[:, [i for i in range(vocab) if i not in allowed][:1]] = 50.0  # never a "##" piece or symbol
    pieces = [_Piece("w", "word", ids=[ranked[0]]), _Piece("w", "word", ids=[ranked[1]]), _Piece("w", "word")]
    fills = {i: set() for i in range(3)}
    for seed in range(40):
        generator._sample(logits, pieces, torch.Generator().manual_seed(seed))
        for i, piece in enumerate(pieces):
            fills[i].add(piece.fill)
            assert 0 < piece.confidence <= 1
    # Top 3 after the original is excluded; a word without a single original id keeps the top 3.
    assert fills[0] == set(ranked[1:4]) and fills[1] == {ranked[0], *ranked[2:4]}
    assert fills[2] == set(ranked[:3])
    generator.cfg["top_k"], generator.cfg["top_p"] = 0, 0.01  # nucleus alone: the best word only
    generator._sample(logits, pieces, torch.Generator().manual_seed(0))
    assert [p.fill for p in pieces] == [ranked[1], ranked[0], ranked[0]]


def test_no_fill_writes_a_word_of_the_notes_own_phi(tiny_model):
    import torch

    from spacy_synthnotes.generators.base import KEEP, PHI, EntitySpec, NotePlan
    from spacy_synthnotes.generators.masked_infill import _Piece

    generator = MaskedInfillGenerator(str(tiny_model), mask_rate=1.0, top_k=0, top_p=1.0)
    generator.load(str(tiny_model))
    vocab = generator.tokenizer.get_vocab()
    allowed = generator._allowed
    words = [w for w, i in sorted(vocab.items(), key=lambda item: item[1]) if allowed[i] and len(w) > 2][:3]
    name, kept, other = words
    text = f"Pt {name.capitalize()}, seen for {kept}. Plan: {other} and rest."
    start = text.index(kept)
    entities = [
        EntitySpec(3, 3 + len(name) + 1, "PATIENT", f"{name.capitalize()},", PHI),
        EntitySpec(start, start + len(kept), "PROBLEM", kept, KEEP),
    ]
    plan = NotePlan(text, entities, seed=5)
    # The PHI's words, in any case, and no word of a kept entity.
    assert generator.phi_word_ids(plan) == sorted(generator._word_ids[name])
    assert vocab[kept] not in generator.phi_word_ids(plan)
    # The banned word wins every row by far, and still is never drawn.
    logits = torch.zeros((2, len(allowed)))
    logits[:, vocab[name]] = 50.0
    pieces = [_Piece("w", "word"), _Piece("w", "word")]
    for seed in range(20):
        generator._sample(logits, pieces, torch.Generator().manual_seed(seed), banned=[vocab[name]])
        assert all(p.fill != vocab[name] for p in pieces)
    generator._sample(logits, pieces, torch.Generator().manual_seed(0))
    assert [p.fill for p in pieces] == [vocab[name]] * 2  # without the ban it is
    # Generation passes each note's own ban to every draw.
    seen = []
    sample = generator._sample
    generator._sample = lambda logits, pieces, gen, banned=(): (
        seen.append(list(banned)) or sample(logits, pieces, gen, banned)
    )
    (synthesis,) = generator([plan])
    assert seen and all(ban == generator.phi_word_ids(plan) for ban in seen)
    written = re.findall(r"[^\W\d_]+", "".join(segment.text for segment in synthesis.segments).lower())
    assert name not in written and len(written) > 5


def test_mask_pos_restricts_masks_to_tagged_words(tiny_model):
    nlp = spacy.blank("en")
    nlp.add_pipe(
        "synth_notes",
        config={
            "generator": {
                "@misc": "spacy_synthnotes.MaskedInfill.v1",
                "model": str(tiny_model),
                "mask_rate": 1.0,
                "mask_pos": ["NOUN"],
            }
        },
    )
    doc = nlp.make_doc("The patient reports severe pain today.")
    for token in doc:
        token.pos_ = "NOUN" if token.text in ("patient", "pain") else "X"
    out = nlp(doc)._.synthetic.text.split()
    assert out[0] == "The" and out[2:4] == ["reports", "severe"] and out[-1] == "today."
    assert out[1] != "patient"


def test_long_notes_use_sliding_windows(tiny_model, test_docs):
    nlp = synth_nlp(tiny_model, max_length=24)
    generator = nlp.get_pipe("synth_notes").generator
    ids_length = len(generator.tokenizer(test_docs[0].text)["input_ids"])
    assert ids_length > 100 and len(generator._windows(ids_length)) > 4
    windows = generator._windows(ids_length)
    owned = [p for _, _, a, b in windows for p in range(a, b)]
    assert owned == list(range(ids_length))  # every position owned by exactly one window
    doc = nlp(copies(nlp, test_docs[:1])[0])
    assert "[MASK]" not in doc._.synthetic.text and doc._.synthetic_report["changed_words"] > 10


def test_deterministic_with_a_seed_and_iterative_fill(tiny_model, test_docs):
    first = outputs(None, synth_nlp(tiny_model).pipe(copies(spacy.blank("en"), test_docs[:3])))
    again = outputs(None, synth_nlp(tiny_model).pipe(copies(spacy.blank("en"), test_docs[:3])))
    assert first == again
    reseeded = outputs(None, synth_nlp(tiny_model, seed=1).pipe(copies(spacy.blank("en"), test_docs[:3])))
    assert reseeded != first
    iterative = synth_nlp(tiny_model, fill="iterative")
    doc = iterative(copies(iterative, test_docs[:1])[0])
    parallel = synth_nlp(tiny_model, rounds=1)(copies(iterative, test_docs[:1])[0])
    windows = len(
        iterative.get_pipe("synth_notes").generator._windows(
            len(iterative.get_pipe("synth_notes").generator.tokenizer(test_docs[0].text)["input_ids"])
        )
    )
    assert parallel._.synthetic_report["forward_passes"] == windows
    # One pass per run of masked words: more passes than windows.
    assert doc._.synthetic_report["forward_passes"] > windows


def test_output_does_not_depend_on_batching(tiny_model, test_docs):
    # One window per forward pass against 16 windows of several notes per pass: the same notes.
    single = synth_nlp(tiny_model, batch_size=1, max_length=32)
    batched = synth_nlp(tiny_model, batch_size=16, max_length=32)
    assert outputs(None, single.pipe(copies(single, test_docs), batch_size=1)) == outputs(
        None, batched.pipe(copies(batched, test_docs), batch_size=6)
    )


def test_states_projected_per_window_are_the_models_logits(tiny_model):
    import torch
    from transformers import AutoModelForMaskedLM

    from spacy_synthnotes.generators.mlm_head import logits_at, project, states_at

    model = AutoModelForMaskedLM.from_pretrained(str(tiny_model)).eval()
    ids = torch.randint(5, 300, (3, 20))
    attention = torch.ones_like(ids)
    select = torch.rand(3, 20) < 0.4
    with torch.inference_mode():
        full = model(input_ids=ids, attention_mask=attention).logits[select]
        states = states_at(model, ids, attention, select)
        # Hidden states, not vocabulary rows: the projection can be done a slice at a time.
        assert states.shape == (int(select.sum()), model.config.hidden_size)
        sliced = torch.cat([project(model, states[:2]), project(model, states[2:])])
        assert torch.allclose(sliced, full, atol=1e-5)
        assert torch.allclose(logits_at(model, ids, attention, select), full, atol=1e-5)


def test_encoder_inputs_lay_out_cls_pieces_sep_and_select_piece_columns():
    from types import SimpleNamespace

    from spacy_synthnotes.generators.mlm_head import encoder_inputs, piece_select

    tok = SimpleNamespace(pad_token_id=0, cls_token_id=2, sep_token_id=3)
    input_ids, attention = encoder_inputs(tok, [[7, 8, 9], [5]])
    assert input_ids.tolist() == [[2, 7, 8, 9, 3], [2, 5, 3, 0, 0]]
    assert attention.tolist() == [[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]]
    select = piece_select(input_ids, [[0, 2], []])
    # Piece i of a row is column i + 1; the selected columns hold exactly those pieces.
    assert input_ids[select].tolist() == [7, 9]


def test_pipeline_directory_is_self_contained(tiny_model, test_docs, tmp_path):
    model_copy = tmp_path / "model"
    shutil.copytree(tiny_model, model_copy)
    nlp = synth_nlp(model_copy)
    expected = outputs(None, nlp.pipe(copies(nlp, test_docs[:2])))
    nlp.to_disk(tmp_path / "pipeline")
    shutil.rmtree(model_copy)
    loaded = spacy.load(tmp_path / "pipeline")
    assert outputs(None, loaded.pipe(copies(loaded, test_docs[:2]))) == expected


def test_corrupt_model_dir_is_a_clear_error(tmp_path):
    (tmp_path / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="is not a loadable masked-LM directory"):
        MaskedInfillGenerator(str(tmp_path)).load(tmp_path)
    with pytest.raises(ValueError, match="is not a directory"):
        MaskedInfillGenerator(str(tmp_path / "missing")).load(tmp_path / "missing")
    with pytest.raises(ValueError, match="mask_rate"):
        MaskedInfillGenerator(str(tmp_path), mask_rate=0)


def test_recipe_refuses_phi_and_replaces_it(demo_dir, tmp_path):
    with pytest.raises(ValueError, match="has PHI entities .* trained on PHI-replaced text only"):
        train_mlm(
            tiny_config(demo_dir, **{"phi.replace": "refuse"}), tmp_path / "refused", log=lambda m: None
        )
    from spacy_synthnotes.training.corpus import replace_phi

    docs = list(DocBinCorpus(demo_dir / "test.spacy", limit=3).docs(spacy.blank("en")))
    for mode in ("surrogate", "placeholder"):
        notes = replace_phi(docs, mode)
        for doc, note in zip(docs, notes):
            for ent in doc.ents:
                if ent.label_ in ("PATIENT", "MEDICALRECORD", "PHONE"):
                    assert ent.text not in note.text
            assert [label for _, _, label in note.entities] == [e.label_ for e in doc.ents]
    assert "[PATIENT]" in replace_phi(docs, "placeholder")[0].text


def test_checkpoint_resume_continues_the_run(demo_dir, tmp_path):
    config = tiny_config(demo_dir, **{"training.steps": 6, "training.eval_every": 3})
    train_mlm(config, tmp_path, log=lambda m: None)
    longer = tiny_config(demo_dir, **{"training.steps": 9, "training.eval_every": 3})
    messages = []
    meta = train_mlm(longer, tmp_path, resume=True, log=messages.append)
    assert messages[0] == "Resumed from step 6"
    history = srsly.read_json(tmp_path / "model-last" / "synthnotes_mlm.json")["history"]
    assert [h["step"] for h in history] == [3, 6, 9] and meta["step"] in (3, 6, 9)


def test_train_mlm_command(demo_dir, tmp_path):
    args = ["train-mlm", ROOT_CONFIG, "--output", str(tmp_path / "out")]
    for key, value in {
        **TINY,
        "paths.train": str(demo_dir / "train.spacy"),
        "paths.dev": str(demo_dir / "dev.spacy"),
        "training.steps": 4,
        "training.eval_every": 2,
    }.items():
        args += [f"--{key}", "null" if value is None else str(value)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "model-best" / "config.json").exists()


def test_pipeline_config_assembles_with_a_trained_model(tiny_model, tmp_path):
    from pathlib import Path

    config = spacy.util.load_config(
        Path(__file__).parents[1] / "configs" / "synth_masked_infill.cfg",
        overrides={"paths.mlm": str(tiny_model)},
        interpolate=True,
    )
    nlp = spacy.util.load_model_from_config(config, auto_fill=True)
    nlp.initialize()
    nlp.to_disk(tmp_path / "p")
    assert (tmp_path / "p" / "synth_notes" / "generator" / "model" / "config.json").exists()
    loaded = spacy.load(tmp_path / "p")
    doc = loaded(make_doc(loaded, NOTE, NOTE_SPANS))
    assert "lisinopril" in [e.text for e in doc._.synthetic.ents]
    assert loaded.get_pipe("synth_notes").generator.cfg["max_run"] == 12  # the workflow's v3
