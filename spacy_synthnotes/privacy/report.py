"""The privacy report: `privacy.json` and a self-contained `privacy.html` with matplotlib plots."""

import base64
import html
import io
import json
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}
th{background:#f3f3f3}.pass{color:#17632a;font-weight:bold}.fail{color:#a11;font-weight:bold}
img{max-width:100%;border:1px solid #ddd;margin:.5em 0}code{background:#f6f6f6;padding:0 3px}
"""


def figure_tag(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def roc_plot(attacks: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """ROC curves on log-log axes (low FPR is where an attack matters), with the chance line."""
    curves = {name: a for name, a in attacks.items() if "roc" in a}
    if not curves:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    floor = 1e-3
    for name, attack in curves.items():
        fpr = [max(x, floor) for x in attack["roc"]["fpr"]]
        tpr = [max(y, floor) for y in attack["roc"]["tpr"]]
        ax.plot(fpr, tpr, label=f"{name} (AUC {attack['auc']['value']:.2f})")
    ax.plot([floor, 1], [floor, 1], "k--", linewidth=0.8, label="chance")
    ax.set(xscale="log", yscale="log", xlabel="false positive rate", ylabel="true positive rate")
    ax.set_title("Membership inference ROC")
    ax.legend(fontsize=8)
    return figure_tag(fig)


def exposure_plot(exposure: Dict[str, Any]) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    counts = sorted({c["repeats"] for c in exposure["canaries"]})
    for count in counts:
        values = [c["exposure"] for c in exposure["canaries"] if c["repeats"] == count]
        ax.hist(
            values, bins=12, range=(0, exposure["max_rank_exposure"]), alpha=0.6, label=f"planted {count}x"
        )
    ax.set(xlabel="exposure (bits)", ylabel="canaries", title="Canary exposure")
    ax.legend(fontsize=8)
    return figure_tag(fig)


def dcr_plot(dcr: Dict[str, Any]) -> str:
    fig, ax = plt.subplots(figsize=(5.5, 4))
    for name, values in dcr["distributions"].items():
        ax.hist(values, bins=30, range=(0, 1), alpha=0.5, density=True, label=name.replace("_", " "))
    ax.axvline(dcr["near_copy_cutoff"], color="k", linestyle="--", linewidth=0.8, label="near-copy cutoff")
    ax.set(
        xlabel="cosine similarity to nearest note (TF-IDF)",
        ylabel="density",
        title="Distance to closest record",
    )
    ax.legend(fontsize=8)
    return figure_tag(fig)


def figure(value: Any) -> str:
    """A rate/mean with its interval, as text."""
    if isinstance(value, dict) and "value" in value:
        if value["value"] is None:
            return "n/a"
        ci = value.get("ci")
        text = f"{value['value']:.3f}"
        return text + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")
    return html.escape(str(value))


def table(rows: List[List[str]], header: List[str]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def attack_rows(group: str, attacks: Dict[str, Any]) -> List[List[str]]:
    return [
        [group, name, figure(a["auc"]), figure(a["tpr_at_0.001_fpr"]), figure(a["tpr_at_0.01_fpr"]),
         f"{a['n_members']} / {a['n_nonmembers']}"]
        for name, a in attacks.items()
        if isinstance(a, dict) and "auc" in a
    ]  # fmt: skip


def badge(ok: bool) -> str:
    return "<span class='pass'>PASS</span>" if ok else "<span class='fail'>FAIL</span>"


def render_html(result: Dict[str, Any], title: str = "Privacy report") -> str:
    """The whole report as one HTML page (plots embedded as PNG)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"]
    parts.append(f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>")
    parts.append(
        f"<p>{result['n_synthetic']} synthetic notes, {result['n_train']} training notes, "
        f"{result['n_heldout']} held-out real notes. Intervals are 95% (Wilson for rates, bootstrap "
        "otherwise).</p>"
    )
    if result.get("dp"):
        dp = result["dp"]
        parts.append(
            f"<p>The generator was trained with DP-SGD: (&epsilon; = {dp['epsilon']:.2f}, &delta; = "
            f"{dp['delta']:.1e}) per {html.escape(str(dp['unit']))}.</p>"
        )
    parts.append("<h2>Verdicts</h2>")
    parts.append(
        table(
            [
                [
                    badge(v["pass"]),
                    html.escape(v["metric"]),
                    "n/a" if v["value"] is None else f"{v['value']:.3f}",
                    f"{v['threshold']:g}",
                    html.escape(v["text"]),
                ]
                for v in result["verdicts"]
            ],
            ["", "metric", "value", "threshold", "what it means"],
        )
    )
    leak = result["leakage"]
    parts.append("<h2>PHI leakage</h2>")
    rows = [["all", figure(leak["exact"]), figure(leak["fuzzy"])]]
    rows += [[html.escape(k), figure(v["exact"]), figure(v["fuzzy"])] for k, v in leak["per_label"].items()]
    parts.append(table(rows, ["label", "exact", f"fuzzy (rapidfuzz ratio >= {leak['fuzzy_threshold']:g})"]))
    if "linked" in leak:
        parts.append(
            f"<p>Linked (source note's PHI in its own synthetic note): {figure(leak['linked']['phi'])}</p>"
        )
    examples = leak.get("linked", {}).get("examples") or leak["examples"]
    if examples:
        parts.append(table([[html.escape(json.dumps(e))] for e in examples], ["examples"]))
    memo = result["memorization"]
    parts.append("<h2>Memorization</h2>")
    base = memo.get("heldout_baseline", {}).get("ngrams", {})
    rows = [
        [
            n,
            figure(v["verbatim"]),
            figure(v["notes_with_verbatim"]),
            figure(base.get(n, {}).get("verbatim", "n/a")),
        ]
        for n, v in memo["ngrams"].items()
    ]
    parts.append(
        table(rows, ["n", "synthetic n-grams verbatim in training", "notes with one", "held-out notes"])
    )
    parts.append(
        f"<p>Longest run of words copied from one training note: mean "
        f"{figure(memo['longest_common_run']['mean'])}, max {memo['longest_common_run']['max']}. "
        f"MinHash near-duplicates (Jaccard >= {memo['near_duplicates']['threshold']}): "
        f"{figure(memo['near_duplicates']['rate'])}.</p>"
    )
    dcr = result["dcr"]
    parts.append("<h2>Distance to closest record</h2>")
    parts.append(
        table(
            [
                [
                    "closer to training than held-out",
                    figure(dcr["closer_to_train"]),
                    f"{dcr['expected_closer_to_train']:.3f}",
                ],
                ["near copies", figure(dcr["near_copies"]), f"{dcr['expected_near_copies']:.3f}"],
            ],
            ["share of synthetic notes", "observed", "expected for synthetic notes"],
        )  # fmt: skip
    )
    parts.append(dcr_plot(dcr))
    attacks: Dict[str, Any] = {}
    rows = []
    if "model_mia" in result:
        for name in ("loss_attack", "reference_attack"):
            if name in result["model_mia"]:
                attacks[f"generator: {name}"] = result["model_mia"][name]
        rows += attack_rows("generator", result["model_mia"])
    for group, scores in result["text_mia"].items():
        for name in ("ngram", "similarity"):
            attacks[f"synthetic text ({group}): {name}"] = scores[name]
        rows += attack_rows(f"synthetic text ({group})", scores)
    parts.append("<h2>Membership inference</h2>")
    parts.append(table(rows, ["target", "attack", "AUC", "TPR @ 0.1% FPR", "TPR @ 1% FPR", "members / non"]))
    plot = roc_plot(attacks)
    if plot:
        parts.append(plot)
    if "exposure" in result:
        exp = result["exposure"]
        parts.append("<h2>Canary exposure</h2>")
        rows = [
            [count, figure(v["exposure"]), figure(v["exposure_extrapolated"])]
            for count, v in exp["per_count"].items()
        ]
        parts.append(table(rows, ["times planted", "exposure (rank, bits)", "exposure (extrapolated, bits)"]))
        parts.append(exposure_plot(exp))
    reid = result["reidentification"]
    parts.append("<h2>Re-identification risk</h2>")
    parts.append(
        f"<p>Share of synthetic notes whose detected PHI links to exactly one training note (a direct "
        f"identifier, or at least {reid['min_quasi']} quasi-identifiers): {figure(reid['risk'])}.</p>"
    )
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(result: Dict[str, Any], output: Union[str, Path]) -> Path:
    """Write `privacy.json` and `privacy.html` into `output`; RETURNS (Path) the HTML file."""
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    (output / "privacy.json").write_text(json.dumps(result, indent=2), encoding="utf8")
    page = output / "privacy.html"
    page.write_text(render_html(result), encoding="utf8")
    return page
