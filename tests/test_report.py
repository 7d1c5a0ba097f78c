"""The combined privacy + utility report: PHI masking by hand, and a report from a real tiny run."""

import srsly
from typer.testing import CliRunner

from spacy_synthnotes.cli import app
from spacy_synthnotes.privacy.evaluate import PrivacyInputs, evaluate_privacy
from spacy_synthnotes.report import example_pairs, mask_phi, write_combined_report
from spacy_synthnotes.sharded import read_synthetic

runner = CliRunner()


def test_mask_phi_by_hand():
    text = "Jo Li has flu since 3/4."
    masked, ents = mask_phi(text, [(0, 5, "PATIENT"), (10, 13, "PROBLEM"), (20, 23, "DATE")])
    assert masked == "[PATIENT] has flu since [DATE]."
    assert [masked[s:e] for s, e, _ in ents] == ["[PATIENT]", "flu", "[DATE]"]
    assert mask_phi("no entities", []) == ("no entities", [])


def test_report_combines_privacy_utility_and_masked_examples(utility_run, tmp_path):
    inputs = utility_run["inputs"]
    synthetic = {name: read_synthetic(path)[0] for name, path in utility_run["synthetic"].items()}
    privacy = {
        name: evaluate_privacy(PrivacyInputs(inputs.train, inputs.test, [d.text for d in docs]))
        for name, docs in synthetic.items()
    }
    pairs = example_pairs(inputs.train, synthetic, 2)
    page = write_combined_report(tmp_path, privacy, utility_run["result"], pairs).read_text()
    assert page.count("<img") == 2  # the trade-off plot and the learning curve
    assert page.count('class="entities"') == 2 * 3  # each example: the masked source and two generators
    assert "[PATIENT]" in page
    for doc in inputs.train[:2]:
        for ent in doc.ents:
            if ent.label_ == "PATIENT":
                assert ent.text not in page  # real names never reach the report
    report = srsly.read_json(tmp_path / "report.json")
    assert report["generators"]["blank"]["f1_ratio"] == 0.0
    assert report["generators"]["surrogate"]["near_copies"] > 0.5
    sources = {v["source"] for v in report["verdicts"]}
    assert sources == {"privacy:surrogate", "privacy:blank", "utility"}


def test_report_cli(utility_run, tmp_path):
    path = utility_run["dir"]
    srsly.write_json(tmp_path / "utility.json", utility_run["result"])
    args = ["report", "--output", str(tmp_path / "out"), "--utility", str(tmp_path / "utility.json")]
    args += ["--source", str(path / "train.spacy"), "--synthetic", f"surrogate={path / 'surrogate.jsonl'}"]
    result = runner.invoke(app, [*args, "--examples", "1"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "report.html").read_text().count('class="entities"') == 2
    missing = runner.invoke(app, ["report", "--output", str(tmp_path / "o2"), "--privacy", f"x={tmp_path}"])
    assert missing.exit_code == 1 and "no privacy.json" in " ".join(missing.output.split())
    empty = runner.invoke(app, ["report", "--output", str(tmp_path / "o3")])
    assert empty.exit_code == 1 and "at least one" in " ".join(empty.output.split())
