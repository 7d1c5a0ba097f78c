"""The combined report: privacy and utility of every generator on one HTML page, plus `report.json`.

It reads what `evaluate-privacy` (privacy.json per generator) and `evaluate-utility` (utility.json) wrote,
and optionally the synthetic notes and their real sources for example pairs. Real notes are shown with
their PHI replaced by `[LABEL]`, so the page carries no real identifiers.
"""

import html
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import srsly
from spacy import displacy
from spacy.tokens import Doc

from .labels import PHI_CATEGORIES
from .privacy.evaluate import best_auc
from .privacy.report import STYLE, badge, figure, figure_tag, plt, table
from .utility.ner import ALL, CLINICAL, headline_f1, headline_sd, source_id

Entity = Tuple[int, int, str]


def mask_phi(text: str, ents: Sequence[Entity], phi_labels=PHI_CATEGORIES) -> Tuple[str, List[Entity]]:
    """`text` with every PHI entity replaced by `[LABEL]`; the other entities' offsets moved to match."""
    pieces, kept, position, shift = [], [], 0, 0
    for start, end, label in sorted(ents):
        pieces.append(text[position:start])
        if label in phi_labels:
            placeholder = f"[{label}]"
            pieces.append(placeholder)
            kept.append((start + shift, start + shift + len(placeholder), label))
            shift += len(placeholder) - (end - start)
        else:
            pieces.append(text[start:end])
            kept.append((start + shift, end + shift, label))
        position = end
    pieces.append(text[position:])
    return "".join(pieces), kept


def render_entities(text: str, ents: Sequence[Entity], title: str) -> str:
    """displaCy's entity view of one note (manual mode: no pipeline needed)."""
    data = {
        "text": text,
        "ents": [{"start": s, "end": e, "label": label} for s, e, label in ents],
        "title": title,
    }
    return displacy.render(data, style="ent", manual=True, page=False, jupyter=False)


def example_pairs(
    sources: Sequence[Doc], synthetic: Dict[str, Sequence[Doc]], n: int
) -> List[Dict[str, Any]]:
    """Up to `n` real notes (PHI masked) with the synthetic note each generator made from it."""
    by_source = {name: {source_id(d): d for d in docs} for name, docs in synthetic.items()}
    pairs = []
    for doc in sources:
        note_id = source_id(doc)
        if len(pairs) >= n:
            break
        if note_id is None or not all(note_id in made for made in by_source.values()):
            continue
        text, ents = mask_phi(doc.text, [(e.start_char, e.end_char, e.label_) for e in doc.ents])
        versions = {
            name: (made[note_id].text, [(e.start_char, e.end_char, e.label_) for e in made[note_id].ents])
            for name, made in by_source.items()
        }
        pairs.append({"id": note_id, "source": (text, ents), "synthetic": versions})
    return pairs


def generator_summary(
    privacy: Dict[str, Dict[str, Any]], utility: Optional[Dict[str, Any]]
) -> Dict[str, Dict]:
    """Per generator, the figures of the trade-off plot: F1 ratios, near copies, text-only MIA AUC, DP."""
    names = list(dict.fromkeys([*privacy, *((utility or {}).get("ratios") or {})]))
    summary = {}
    for name in names:
        row: Dict[str, Any] = {}
        if utility and name in utility["ratios"]:
            row["f1_ratio"] = utility["ratios"][name][ALL]
            row["f1_ratio_clinical"] = utility["ratios"][name][CLINICAL]
        if name in privacy:
            result = privacy[name]
            row["near_copies"] = result["dcr"]["near_copies"]["value"]
            notes = (result.get("text_mia") or {}).get("notes", {})
            row["text_mia_auc"] = best_auc(notes)
            row["privacy_passed"] = all(v["pass"] for v in result["verdicts"])
            row["dp"] = result.get("dp")
        summary[name] = row
    return summary


def number(value: Optional[float]) -> str:
    return "-" if value is None else f"{value:.3f}"


def point_label(name: str, row: Dict[str, Any]) -> str:
    return name + (f" (eps {row['dp']['epsilon']:.1f})" if row.get("dp") else "")


def tradeoff_plot(summary: Dict[str, Dict[str, Any]]) -> Optional[str]:
    """F1 ratio (utility) against two privacy risks: near-copy rate and text-only membership AUC."""
    rows = {
        name: row for name, row in summary.items() if row.get("f1_ratio") is not None and "near_copies" in row
    }
    if not rows:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, key, xlabel in (
        (axes[0], "near_copies", "near copies of a training note (share of notes)"),
        (axes[1], "text_mia_auc", "membership inference AUC from the synthetic text"),
    ):
        for i, (name, row) in enumerate(rows.items()):
            if row.get(key) is None:
                continue
            ax.scatter(row[key], row["f1_ratio"], s=40)
            # Alternate label sides so that nearby points stay readable.
            offset = (-6, 6) if i % 2 else (-6, -12)
            ax.annotate(point_label(name, row), (row[key], row["f1_ratio"]), fontsize=8,
                        xytext=offset, textcoords="offset points", ha="right")  # fmt: skip
        ax.set_xlabel(xlabel)
        ax.grid(alpha=0.3)
    # Fixed axes: a point's position reads the same in every report.
    axes[0].set_xlim(-0.02, 1.02)
    axes[1].set_xlim(0.45, 1.0)
    ratios = [row["f1_ratio"] for row in rows.values()]
    axes[0].set_ylim(min(0.5, min(ratios) - 0.05), max(1.05, max(ratios) + 0.05))
    axes[0].set_ylabel("F1(train on synthetic) / F1(train on real)")
    axes[1].axvline(0.5, color="k", linestyle="--", linewidth=0.8)
    fig.suptitle("Privacy-utility trade-off (up = more useful, left = more private)")
    return figure_tag(fig)


def curve_plot(curve: Dict[str, Any]) -> str:
    points = curve["points"]
    first = curve.get("schedule") == "synthetic-first"
    shared = "all " if curve.get("pool") == "all" else ""
    fig, ax = plt.subplots(figsize=(5.5, 4))
    xs = [p["fraction"] for p in points]

    real = [p["real"] for p in points]
    ax.errorbar(
        xs,
        [headline_f1(s, ALL) for s in real],
        [headline_sd(s, ALL) for s in real],
        fmt="o-",
        label="real only, twice the budget" if first else "real only",
    )
    augmented = [(p["fraction"], p["augmented"]) for p in points if p["augmented"]]
    if augmented:
        ax.errorbar(
            [x for x, _ in augmented],
            [headline_f1(s, ALL) for _, s in augmented],
            [headline_sd(s, ALL) for _, s in augmented],
            fmt="s--",
            label=f"{shared}synthetic:{curve['augment']}, then real"
            if first
            else f"real + {shared}synthetic:{curve['augment']}",
        )
    ax.set(xscale="log", xlabel="share of the real training notes", ylabel="NER F1 on real test notes")
    ax.set_xticks(xs, [f"{x:.0%}" for x in xs])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title("Learning curve")
    return figure_tag(fig)


def budget(settings: Dict[str, Any]) -> str:
    epochs = settings.get("epochs")
    each = f"{epochs} passes over its notes" if epochs else f"{settings['max_steps']} training steps"
    if settings.get("schedule") == "synthetic-first":
        return (
            f"{each} per condition and per stage (real + synthetic: the synthetic notes first, then the "
            "real ones; the real-only points of the learning curve: twice that)"
        )
    return f"{each} per condition"


def pool_note(settings: Dict[str, Any]) -> str:
    """Which synthetic notes the learning curve adds to each fraction of the real notes."""
    if settings.get("pool") == "all":
        return "every synthetic note (the corpus as a hospital would share it)"
    return "the synthetic notes made from those same real notes (what the augmenter adds)"


def f1_cell(scores: Dict[str, Any], group: str) -> str:
    """The F1 with its bootstrap interval, or, for repeated trainings, the mean ± sd over seeds."""
    repeats = scores.get("repeats")
    if repeats:
        return f"{repeats[group]['mean']:.3f} ± {repeats[group]['sd']:.3f} ({len(repeats['seeds'])} seeds)"
    ci = scores[group].get("ci")
    return f"{scores[group]['f']:.3f}" + (f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else "")


def f1_table(utility: Dict[str, Any]) -> str:
    conditions = utility["conditions"]
    header = ["label", *conditions]
    rows = [
        [f"<b>{group}</b> (micro)", *(f1_cell(c, group) for c in conditions.values())]
        for group in (ALL, CLINICAL)
    ]
    for label in utility["settings"]["labels"]:
        rows.append([html.escape(label), *(f"{c['per_label'][label]['f']:.3f}" for c in conditions.values())])
    return table(rows, header)


def text_table(text: Dict[str, Dict[str, Any]]) -> str:
    def cell(row: Dict[str, Any], *keys: str) -> str:
        value: Any = row
        for key in keys:
            if not isinstance(value, dict) or key not in value:
                return "-"
            value = value[key]
        return (
            figure(value)
            if isinstance(value, dict)
            else f"{value:.3f}"
            if isinstance(value, float)
            else str(value)
        )

    rows = [
        [html.escape(name), str(row["notes"]), cell(row, "entity_preservation"),
         cell(row, "fidelity", "rouge1"), cell(row, "fidelity", "rougeL"), cell(row, "distinct_1"),
         cell(row, "distinct_2"), cell(row, "self_bleu"), f"{row['fluency']['perplexity']:.1f}"]
        for name, row in text.items()
    ]  # fmt: skip
    header = ["notes", "n", "entity preservation", "ROUGE-1", "ROUGE-L", "distinct-1", "distinct-2",
              "self-BLEU", "fluency (perplexity)"]  # fmt: skip
    return table(rows, header)


def render_report(
    privacy: Dict[str, Dict[str, Any]], utility: Optional[Dict[str, Any]], pairs: Sequence[Dict[str, Any]]
) -> Tuple[str, Dict[str, Any]]:
    """The HTML page and the JSON summary."""
    summary = generator_summary(privacy, utility)
    verdicts = [
        {"source": f"privacy:{name}", **v} for name, result in privacy.items() for v in result["verdicts"]
    ]
    verdicts += [{"source": "utility", **v} for v in (utility or {}).get("verdicts", [])]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Synthetic notes: privacy and utility</title>"
    ]
    parts.append(f"<style>{STYLE}</style></head><body><h1>Synthetic notes: privacy and utility</h1>")
    parts.append("<h2>Generators</h2>")
    parts.append(
        table(
            [
                [
                    html.escape(point_label(name, row)),
                    number(row.get("f1_ratio")),
                    number(row.get("f1_ratio_clinical")),
                    number(row.get("near_copies")),
                    number(row.get("text_mia_auc")),
                    "-" if "privacy_passed" not in row else badge(row["privacy_passed"]),
                ]
                for name, row in summary.items()
            ],  # fmt: skip
            ["generator", "F1 ratio", "F1 ratio (clinical)", "near copies", "text MIA AUC", "privacy checks"],
        )
    )
    plot = tradeoff_plot(summary)
    if plot:
        parts.append(plot)
    parts.append("<h2>Verdicts</h2>")
    parts.append(
        table(
            [
                [badge(v["pass"]), html.escape(v["source"]), html.escape(v["metric"]), html.escape(v["text"])]
                for v in verdicts
            ],  # fmt: skip
            ["", "from", "measure", "what it says"],
        )
    )
    if utility:
        settings = utility["settings"]
        parts.append(
            f"<h2>Train on synthetic, test on real</h2><p>NER config <code>{html.escape(settings['config'])}"
            f"</code>, {budget(settings)}, seed {settings['seed']}; "
            f"{settings['train_notes']} real training notes, scored on {settings['test_notes']} real test "
            "notes (exact-match entity F1; 95% bootstrap intervals over test notes). The learning curve "
            f"adds to each share of the real notes {pool_note(settings)}.</p>"
        )
        parts.append(f1_table(utility))
        parts.append(curve_plot(utility["learning_curve"]))
        parts.append("<h2>Text measures</h2>")
        parts.append(text_table(utility["text"]))
    if pairs:
        parts.append("<h2>Examples</h2><p>Real notes with their PHI replaced by <code>[LABEL]</code>, then "
                     "what each generator wrote from them.</p>")  # fmt: skip
        for pair in pairs:
            parts.append(f"<h3>Note {html.escape(str(pair['id']))}</h3>")
            parts.append(render_entities(*pair["source"], title="real (PHI masked)"))
            for name, (text, ents) in pair["synthetic"].items():
                parts.append(render_entities(text, ents, title=name))
    parts.append("</body></html>")
    result = {"generators": summary, "verdicts": verdicts, "utility": utility}
    return "\n".join(parts), result


def write_combined_report(
    output: Union[str, Path],
    privacy: Dict[str, Dict[str, Any]],
    utility: Optional[Dict[str, Any]] = None,
    pairs: Sequence[Dict[str, Any]] = (),
) -> Path:
    """Write `report.html` and `report.json` to `output`; RETURNS (Path) the HTML file."""
    if not privacy and not utility:
        raise ValueError("the report needs at least one privacy.json or a utility.json")
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    page, result = render_report(privacy, utility, pairs)
    srsly.write_json(output / "report.json", result)
    path = output / "report.html"
    path.write_text(page, encoding="utf8")
    return path
