"""The README's main job: `spacy project run all` on the embedded demo corpus (slow, run in CI)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import srsly

from spacy_synthnotes.readers import JsonlCorpus

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_project_workflow_runs_end_to_end(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "project.yml", project)
    shutil.copytree(ROOT / "configs", project / "configs")
    command = [
        sys.executable,
        "-m",
        "spacy",
        "project",
        "run",
        "all",
        str(project),
        "--vars.n_notes",
        "120",
        "--vars.ner_max_steps",
        "60",
    ]
    result = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("train", "dev", "test"):
        assert (project / "corpus" / "demo" / f"{name}.spacy").stat().st_size > 0
    phi = srsly.read_json(project / "metrics" / "phi_demo.json")
    assert phi["hipaa"]["gold_tokens"] > 0 and 0.0 <= phi["hipaa"]["token_recall"] <= 1.0
    assert (project / "training" / "phi" / "synth_phi").exists() or (
        project / "training" / "phi" / "ner"
    ).exists()
    summary = srsly.read_json(project / "metrics" / "synthesize_surrogate.json")
    assert (
        summary["notes"] > 5 and summary["phi_strings_leaked"] == 0 and summary["kept_entities_inexact"] == 0
    )
    import spacy

    docs = list(JsonlCorpus(project / "synthetic" / "test_surrogate.jsonl").docs(spacy.blank("en")))
    assert len(docs) == summary["notes"]
    privacy = srsly.read_json(project / "metrics" / "privacy_surrogate" / "privacy.json")
    verdicts = {v["metric"]: v["pass"] for v in privacy["verdicts"]}
    # The surrogate baseline rewrites each training note: the report must say so.
    assert privacy["anonymized_not_synthetic"] and verdicts["near_copies"] is False
    assert (project / "metrics" / "privacy_surrogate" / "privacy.html").read_text().count("<img") >= 2
    # A rerun skips the finished steps.
    rerun = subprocess.run(command, capture_output=True, text=True, cwd=project, timeout=600)
    assert rerun.returncode == 0 and "Skipping 'demo-corpus'" in rerun.stdout
