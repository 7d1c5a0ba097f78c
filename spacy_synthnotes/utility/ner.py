"""Train-on-synthetic / test-on-real: spaCy NER pipelines trained per condition, scored on real notes.

Every condition is trained with the same config, seed and number of steps, and scored on the same real
test split; model selection never sees real data (the dev set of a condition is a slice of its own
training notes, and the final weights are scored).
"""

import io
import random
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np
from spacy import util
from spacy.language import Language
from spacy.tokens import Doc, DocBin
from spacy.training.initialize import init_nlp
from spacy.training.loop import train
from spacy.util import Config

from ..extensions import NOTE_META
from ..labels import PHI_CATEGORIES

Counts = Dict[str, List[int]]  # label -> [true positives, false positives, false negatives]
CLINICAL = "clinical"
ALL = "all"
DEV_NOTES = 20


def span_counts(gold: Doc, predicted: Doc) -> Counts:
    """Exact-match entity counts of one note: a predicted entity is right when its characters and label
    equal a gold entity's."""
    gold_spans = {(e.start_char, e.end_char, e.label_) for e in gold.ents}
    pred_spans = {(e.start_char, e.end_char, e.label_) for e in predicted.ents}
    counts: Counts = {}
    for spans, column in (
        (gold_spans & pred_spans, 0),
        (pred_spans - gold_spans, 1),
        (gold_spans - pred_spans, 2),
    ):
        for _, _, label in spans:
            counts.setdefault(label, [0, 0, 0])[column] += 1
    return counts


def prf(tp: int, fp: int, fn: int) -> Dict[str, Any]:
    """Precision, recall and F1 (0 where undefined) with the counts."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"p": p, "r": r, "f": f, "tp": tp, "fp": fp, "fn": fn}


def group_totals(counts: Counts, labels: Iterable[str]) -> Tuple[int, int, int]:
    """Summed counts of `labels` (micro-averaging)."""
    rows = [counts.get(label, [0, 0, 0]) for label in labels]
    return tuple(int(sum(column)) for column in zip(*rows)) if rows else (0, 0, 0)  # type: ignore[return-value]


def label_groups(labels: Iterable[str]) -> Dict[str, List[str]]:
    """The micro-averaged groups: every label, and the clinical (non-PHI) ones."""
    labels = sorted(labels)
    return {ALL: labels, CLINICAL: [label for label in labels if label not in PHI_CATEGORIES]}


def bootstrap_f1(
    per_note: Sequence[Counts], labels: Sequence[str], n_resamples: int = 1000, seed: int = 0
) -> Optional[List[float]]:
    """Percentile-bootstrap 95% interval of the micro F1 of `labels`, resampling test notes."""
    if not per_note or not labels:
        return None
    table = np.array([group_totals(counts, labels) for counts in per_note], dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(table), size=(n_resamples, len(table)))
    tp, fp, fn = (table[picks, column].sum(axis=1) for column in range(3))
    denominator = 2 * tp + fp + fn
    f1 = np.divide(2 * tp, denominator, out=np.zeros_like(tp), where=denominator > 0)
    return [float(np.percentile(f1, 2.5)), float(np.percentile(f1, 97.5))]


def score_ner(nlp: Language, test_docs: Sequence[Doc], labels: Sequence[str], seed: int = 0) -> Dict:
    """Per-label and micro (all labels / clinical labels) P/R/F1 of `nlp` on annotated `test_docs`,
    with bootstrap intervals of the micro F1s."""
    per_note = [span_counts(gold, pred) for gold, pred in zip(test_docs, nlp.pipe(d.text for d in test_docs))]
    totals: Counts = {}
    for counts in per_note:
        for label, row in counts.items():
            total = totals.setdefault(label, [0, 0, 0])
            for i in range(3):
                total[i] += row[i]
    result: Dict[str, Any] = {
        "per_label": {label: prf(*totals.get(label, [0, 0, 0])) for label in sorted(labels)},
        "notes": len(test_docs),
    }
    for group, members in label_groups(labels).items():
        result[group] = prf(*group_totals(totals, members))
        result[group]["ci"] = bootstrap_f1(per_note, members, seed=seed)
    return result


def repeat_summary(runs: Sequence[Dict[str, Any]], seeds: Sequence[int]) -> Dict[str, Any]:
    """Micro F1 of each group over trainings that differ only in their seed: values, mean, sample sd."""
    summary: Dict[str, Any] = {"seeds": list(seeds)}
    for group in (ALL, CLINICAL):
        values = [run[group]["f"] for run in runs]
        sd = float(np.std(values, ddof=1)) if len(values) > 1 else 0.0
        summary[group] = {"f": values, "mean": float(np.mean(values)), "sd": sd}
    return summary


def headline_f1(scores: Dict[str, Any], group: str) -> float:
    """A condition's F1 for ratios and verdicts: the mean over seeds when it was trained repeatedly."""
    repeats = scores.get("repeats")
    return repeats[group]["mean"] if repeats else scores[group]["f"]


def headline_sd(scores: Dict[str, Any], group: str) -> float:
    """The sd of a condition's F1 over seeds: 0.0 for a single training."""
    repeats = scores.get("repeats")
    return repeats[group]["sd"] if repeats else 0.0


def source_id(doc: Doc) -> Optional[str]:
    """The id of the real note a synthetic Doc was made from (JSONL `source_id`, DocBin `id`)."""
    meta = doc._.get(NOTE_META) or {}
    return meta.get("source_id", meta.get("id"))


def nested_subsets(n: int, fractions: Sequence[float], seed: int) -> Dict[float, List[int]]:
    """Indices of nested random subsets (each fraction's notes include the smaller fractions')."""
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise ValueError(f"learning-curve fractions must be in (0, 1], got {fraction}")
    order = list(range(n))
    random.Random(seed).shuffle(order)
    return {f: sorted(order[: max(1, round(f * n))]) for f in fractions}


def write_docbin(docs: Sequence[Doc], path: Path) -> Path:
    DocBin(docs=docs, store_user_data=True).to_disk(path)
    return path


def sourced_from(config: Config, init: Path) -> Config:
    """A copy of `config` whose pipeline components are all sourced from the pipeline at `init`."""
    config = config.copy()
    for name in config["nlp"]["pipeline"]:
        config["components"][name] = {"source": str(init)}
    return config


def check_budget(config: Config, epochs: int, config_path: Union[str, Path]) -> None:
    """Raise ValueError when `epochs` is the budget but the (uninterpolated) `config`'s learning rate is
    a schedule that ends at `training.max_steps`: with a budget in passes max_steps is 0, and such a
    schedule (configs/ner_utility.cfg, configs/ner_transformer.cfg) would stop learning after its
    warm-up."""
    rate = config["training"]["optimizer"].get("learn_rate")
    if epochs and isinstance(rate, dict) and any("${training.max_steps}" in str(v) for v in rate.values()):
        raise ValueError(
            f"{config_path}: its learning-rate schedule ends at training.max_steps, so it needs a budget "
            "in steps (--max-steps), not --epochs; use a constant-rate config such as configs/ner_demo.cfg "
            "for a budget in passes"
        )


def train_ner(
    docs: Sequence[Doc],
    config_path: Union[str, Path],
    *,
    max_steps: int = 400,
    epochs: int = 0,
    seed: int = 0,
    overrides: Optional[Dict[str, Any]] = None,
    workdir: Optional[Path] = None,
    init: Optional[Path] = None,
) -> Language:
    """Train the NER pipeline of `config_path` on `docs`; return the final pipeline.

    The budget is `max_steps` updates (equal compute for every condition), or with `epochs` > 0 that many
    passes over `docs` (equal passes: a condition with more notes trains longer). The config reads
    `paths.train` / `paths.dev` (DocBin files written here). Its dev set is the first notes of `docs`,
    so a synthetic-only condition never sees real notes; patience is off and the final weights are
    returned, so no condition is selected on real data. With `init` (a pipeline directory) every
    component of the config is sourced from it, so training resumes from its weights.
    """
    if not docs:
        raise ValueError("no training notes for this condition")
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        train_path = write_docbin(docs, Path(tmp) / "train.spacy")
        dev_path = write_docbin(docs[:DEV_NOTES], Path(tmp) / "dev.spacy")
        settings = {
            **(overrides or {}),
            "paths.train": str(train_path),
            "paths.dev": str(dev_path),
            "training.max_steps": 0 if epochs else max_steps,
            "training.max_epochs": epochs,
            "training.patience": 0,
            "training.eval_frequency": 10**9 if epochs else max_steps,
            "system.seed": seed,
        }
        config = util.load_config(config_path, overrides=settings, interpolate=False)
        check_budget(config, epochs, config_path)
        if init is not None:
            config = sourced_from(config, init)
        nlp = init_nlp(config, use_gpu=-1)
        nlp, _ = train(nlp, None, use_gpu=-1, stdout=io.StringIO(), stderr=io.StringIO())
    return nlp
