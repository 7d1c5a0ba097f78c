"""The command line: demo-corpus and synthesize, on good and bad input."""

import subprocess
import sys

import spacy
import srsly
from spacy.tokens import DocBin
from typer.testing import CliRunner

from spacy_synthnotes.cli import app
from spacy_synthnotes.readers import DocBinCorpus, JsonlCorpus

runner = CliRunner()


def flat(output: str) -> str:
    """CLI output with wasabi's line wrapping undone."""
    return " ".join(output.split())


def test_demo_corpus_command(tmp_path):
    args = ["demo-corpus", str(tmp_path), "--n-notes", "30", "--seed", "2", "--n-letters", "16"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Wrote 30 notes" in result.output
    counts = {
        split: sum(1 for _ in srsly.read_jsonl(tmp_path / f"{split}.jsonl"))
        for split in ("train", "dev", "test")
    }
    assert sum(counts.values()) == 30
    # The NER's sets: the split plus 16 correspondence texts (train) and 16 // 8 (dev).
    for split, letters in (("train", 16), ("dev", 2)):
        assert len(DocBin().from_disk(tmp_path / f"ner_{split}.spacy")) == counts[split] + letters


def test_synthesize_jsonl_output_is_readable_and_summarized(tmp_path, demo_dir, pipeline_dir):
    out = tmp_path / "out.jsonl"
    summary = tmp_path / "summary.json"
    result = runner.invoke(
        app,
        ["synthesize", str(pipeline_dir), str(demo_dir / "test.jsonl"), str(out), "--summary", str(summary)],
    )
    assert result.exit_code == 0, result.output
    data = srsly.read_json(summary)
    n_test = sum(1 for _ in srsly.read_jsonl(demo_dir / "test.jsonl"))
    assert data["notes"] == n_test and data["phi_strings_leaked"] == 0 and data["kept_entities_inexact"] == 0
    records = list(srsly.read_jsonl(out))
    assert len(records) == n_test
    assert records[0]["meta"]["source_id"].startswith("note-") and "alignment" in records[0]
    docs = list(JsonlCorpus(out).docs(spacy.blank("en")))
    assert len(docs) == n_test and all(d.ents for d in docs)


def test_synthesize_docbin_output_with_two_processes(tmp_path, demo_dir, pipeline_dir):
    out = tmp_path / "out.spacy"
    args = ["synthesize", str(pipeline_dir), str(demo_dir / "test.spacy"), str(out), "--limit", "12"]
    result = runner.invoke(app, args + ["--n-process", "2", "--batch-size", "4"])
    assert result.exit_code == 0, result.output
    docs = list(DocBinCorpus(out).docs(spacy.blank("en")))
    assert len(docs) == 12 and docs[0]._.note_meta["note_type"]
    single = tmp_path / "single.spacy"
    assert (
        runner.invoke(
            app, ["synthesize", str(pipeline_dir), str(demo_dir / "test.spacy"), str(single), "--limit", "12"]
        ).exit_code
        == 0
    )
    assert [d.text for d in DocBinCorpus(single).docs(spacy.blank("en"))] == [d.text for d in docs]


def test_synthesize_reports_bad_input_and_skips_on_request(tmp_path, pipeline_dir):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Seen by Dr. Wong.", "spans": [[12, 16, "DOCTOR"]]}\n{"text": oops}\n')
    result = runner.invoke(app, ["synthesize", str(pipeline_dir), str(bad), str(tmp_path / "o.jsonl")])
    assert result.exit_code == 1
    assert "bad.jsonl, line 2: invalid JSON: Expecting value at column 10" in flat(result.output)
    result = runner.invoke(
        app,
        [
            "synthesize",
            str(pipeline_dir),
            str(bad),
            str(tmp_path / "o.jsonl"),
            "--on-error",
            "skip",
            "--summary",
            str(tmp_path / "s.json"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert srsly.read_json(tmp_path / "s.json")["input_problems"] == [
        f"{bad}, line 2: invalid JSON: Expecting value at column 10"
    ]
    assert "Wong" not in next(iter(srsly.read_jsonl(tmp_path / "o.jsonl")))["text"]


def test_pipeline_without_the_component_is_refused(tmp_path, demo_dir):
    spacy.blank("en").to_disk(tmp_path / "plain")
    result = runner.invoke(
        app, ["synthesize", str(tmp_path / "plain"), str(demo_dir / "test.jsonl"), str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 1 and "has no synth_notes component" in flat(result.output)


def test_module_entry_point_runs():
    result = subprocess.run(
        [sys.executable, "-m", "spacy_synthnotes", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "synthesize" in result.stdout and "demo-corpus" in result.stdout


def test_train_ner_command_trains_and_refuses_an_unknown_encoder(tmp_path, demo_dir):
    from pathlib import Path

    config = Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"
    paths = [
        "--paths.train",
        str(demo_dir / "ner_train.spacy"),
        "--paths.dev",
        str(demo_dir / "ner_dev.spacy"),
    ]
    result = runner.invoke(
        app,
        ["train-ner", str(config), "--output", str(tmp_path / "ner"), *paths, "--training.max_steps", "2"],
    )
    assert result.exit_code == 0, result.output
    assert spacy.load(tmp_path / "ner" / "model-last").pipe_names == ["tok2vec", "ner"]
    transformer = config.with_name("ner_transformer.cfg")
    bad = ["train-ner", str(transformer), "--output", str(tmp_path / "t"), *paths]
    result = runner.invoke(app, [*bad, "--paths.transformer", "no-such-encoder"])
    assert result.exit_code == 1
    assert "'no-such-encoder' is neither a directory nor an installed model package" in flat(result.output)
    assert not (tmp_path / "t").exists()


def test_the_cli_and_evaluators_import_without_transformers_model_code():
    # transformers' model and generation classes take seconds to import (6 s of the CLI's 11 s on
    # the 2-core machine): they load with a model, not with `--help`, the demo corpus or a report.
    code = (
        "import sys, spacy_synthnotes.cli, spacy_synthnotes.privacy, spacy_synthnotes.utility\n"
        "prefixes = ('transformers.models', 'transformers.generation', 'transformers.modeling_utils')\n"
        "print(sorted(m for m in sys.modules if m.startswith(prefixes)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
