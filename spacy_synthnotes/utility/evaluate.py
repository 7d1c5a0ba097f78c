"""`evaluate_utility`: can a NER trained on synthetic notes replace (or help) one trained on real notes?

Conditions, each scored on the same real test split (Belkadi et al. 2023, section 5):
- `real`: the real training split;
- `synthetic:NAME`: only the synthetic notes of generator NAME (the surrogate generator is the
  "traditional anonymization" baseline);
- `real+synthetic:NAME`: both, for every generator but the baseline;
- a learning curve: 10/25/50% of the real notes (nested random subsets), alone and with synthetic notes,
  plus the two 100% points above. Which synthetic notes is the `pool`: "same" (those made from the same
  real notes: what the augmenter adds) or "all" (every synthetic note of the generator: a researcher with a
  few real notes of their own and the synthetic corpus a hospital shared).
How real and synthetic notes are combined is the `schedule`: "mixed" (one training on both, shuffled
together, as the augmenter does) or "synthetic-first" (train on the synthetic notes, then resume on the
real ones; each stage gets the budget, and the real-only points of the learning curve get twice the
budget, so both sides have had as many updates with one synthetic note per real note).
Text measures per generator: entity preservation, ROUGE fidelity to the source, distinct-n and self-BLEU
diversity (real notes as the reference point), and a fluency proxy (perplexity under a trigram model of
the real dev notes).
"""

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import spacy
from spacy import util
from spacy.tokens import Doc

from ..labels import PHI_CATEGORIES
from ..readers import open_corpus
from ..sharded import read_synthetic
from .ner import (
    ALL,
    CLINICAL,
    check_budget,
    headline_f1,
    headline_sd,
    nested_subsets,
    repeat_summary,
    source_id,
)
from .text import distinct_n, entity_preservation, fidelity, fluency, self_bleu
from .trainings import Outcome, Setup, Training, run_trainings

BASELINE = "surrogate"
DEFAULT_FRACTIONS = (0.1, 0.25, 0.5)
DEFAULT_MIN_RATIO = 0.95
SCHEDULES = ("mixed", "synthetic-first")
POOLS = ("same", "all")


@dataclass
class UtilityInputs:
    """Real splits and the synthetic notes of each generator (made from the real training split)."""

    train: List[Doc]
    dev: List[Doc]
    test: List[Doc]
    synthetic: Dict[str, List[Doc]]
    skipped: Dict[str, int] = field(default_factory=dict)


@dataclass
class Condition:
    """A planned condition: the indices of its trainings (one per seed); `scores` once they have run."""

    name: str
    train_notes: int
    trainings: List[int]
    seeds: List[int]
    scores: Dict[str, Any] = field(default_factory=dict)

    def summarize(self, outcomes: Sequence[Outcome], repeats: int, log: Callable[[str], None]) -> None:
        """The first seed's scores, with every seed's F1 (`repeats`), the notes and the training seconds."""
        runs = [outcomes[i][0] for i in self.trainings]
        scores = dict(runs[0])
        if repeats > 1:
            scores["repeats"] = repeat_summary(runs, self.seeds)
        seconds = round(sum(outcomes[i][1] for i in self.trainings), 1)
        scores.update(train_notes=self.train_notes, seconds=seconds)
        spread = f" ± {headline_sd(scores, ALL):.3f} over {repeats} seeds" if repeats > 1 else ""
        log(
            f"{self.name}: F1 {headline_f1(scores, ALL):.3f}{spread} (clinical "
            f"{headline_f1(scores, CLINICAL):.3f}), {self.train_notes} notes, {seconds}s"
        )
        self.scores = scores


def load_utility_inputs(
    train: Union[str, Path],
    dev: Union[str, Path],
    test: Union[str, Path],
    synthetic: Dict[str, Union[str, Path]],
) -> UtilityInputs:
    """Read the real splits (annotated corpora in any supported format) and each synthetic set."""
    nlp = spacy.blank("en")
    splits = [list(open_corpus(path).docs(nlp)) for path in (train, dev, test)]
    for path, docs in zip((train, dev, test), splits):
        if not docs:
            raise ValueError(f"{path}: no notes")
    sets, skipped = {}, {}
    for name, path in synthetic.items():
        sets[name], skipped[name] = read_synthetic(Path(path))
    return UtilityInputs(*splits, synthetic=sets, skipped=skipped)


def clinical_entities(doc: Doc) -> List[Tuple[str, str]]:
    return [(e.label_, e.text) for e in doc.ents if e.label_ not in PHI_CATEGORIES]


def set_measures(texts: Sequence[str], reference: Sequence[str], seed: int) -> Dict[str, Any]:
    """Diversity and fluency of a set of notes (synthetic, or the real training notes as the yardstick)."""
    return {
        "notes": len(texts),
        "distinct_1": distinct_n(texts, 1),
        "distinct_2": distinct_n(texts, 2),
        "self_bleu": self_bleu(texts, seed=seed) if len(texts) > 1 else None,
        "fluency": fluency(reference, texts, seed=seed),
    }


def text_measures(inputs: UtilityInputs, docs: Sequence[Doc], seed: int) -> Dict[str, Any]:
    """Preservation and fidelity against each note's source, diversity and fluency of the set."""
    by_id = {source_id(d): d for d in inputs.train}
    pairs = [(by_id[source_id(d)], d) for d in docs if source_id(d) in by_id]
    result = set_measures([d.text for d in docs], [d.text for d in inputs.dev], seed)
    result["paired_with_source"] = len(pairs)
    if pairs:
        result["entity_preservation"] = entity_preservation(
            [clinical_entities(s) for s, _ in pairs], [clinical_entities(d) for _, d in pairs]
        )
        result["fidelity"] = fidelity([s.text for s, _ in pairs], [d.text for _, d in pairs], seed=seed)
    return result


def fmt(value: Optional[float]) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def f1_ratio(scores: Dict[str, Any], reference: Dict[str, Any], group: str) -> Optional[float]:
    denominator = headline_f1(reference, group)
    return headline_f1(scores, group) / denominator if denominator else None


def evaluate_utility(
    inputs: UtilityInputs,
    config_path: Union[str, Path],
    *,
    max_steps: int = 400,
    epochs: int = 0,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    augment: Optional[str] = None,
    schedule: str = "mixed",
    pool: str = "same",
    min_ratio: float = DEFAULT_MIN_RATIO,
    min_ratios: Optional[Mapping[str, float]] = None,
    seed: int = 0,
    repeats: int = 1,
    n_process: int = 1,
    overrides: Optional[Dict[str, Any]] = None,
    log: Callable[[str], None] = lambda line: None,
) -> Dict[str, Any]:
    """Train and score every condition; return the JSON-ready result with verdict lines.

    config_path: spaCy NER training config reading `paths.train`/`paths.dev` (configs/ner_utility.cfg,
        configs/ner_demo.cfg, or configs/ner_transformer.cfg with `paths.transformer` set through
        `overrides`).
    max_steps / epochs: the training budget of every condition (see `train_ner`).
    augment: the generator whose notes augment the learning curve (default: the last non-baseline one).
    schedule: how real and synthetic notes are combined: "mixed" or "synthetic-first" (module doc).
    pool: the synthetic notes added to a fraction of the real ones: "same" (made from those real notes)
        or "all" (every synthetic note of `augment`).
    min_ratio: F1(synthetic)/F1(real) a synthetic set must reach to pass.
    min_ratios: that target for named sets, where it differs (e.g. {"entity_conditioned": 0.9}: the
        issue's target for DP notes at epsilon 8, beside MaskedInfill's 0.95).
    repeats: trainings per condition, with seeds seed, seed + 1, ...: the condition's scores are the
        first one's, plus `repeats` (F1 per seed, mean, sd); ratios and verdicts then use the means.
    n_process: trainings run at a time, each in its own process (`run_trainings`); the results are the
        same for any value.
    """
    if not inputs.synthetic:
        raise ValueError("give at least one synthetic set")
    check_budget(util.load_config(config_path, interpolate=False), epochs, config_path)
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if pool not in POOLS:
        raise ValueError(f"pool must be one of {POOLS}, got {pool!r}")
    if n_process < 1:
        raise ValueError(f"n_process must be >= 1, got {n_process}")
    unknown = sorted(set(min_ratios or {}) - set(inputs.synthetic))
    if unknown:
        raise ValueError(f"min_ratios names {unknown}, not synthetic sets: {sorted(inputs.synthetic)}")
    generators = [name for name in inputs.synthetic if name != BASELINE]
    augment = augment or (generators[-1] if generators else BASELINE)
    if augment not in inputs.synthetic:
        raise ValueError(f"augment={augment!r} is not one of the synthetic sets {sorted(inputs.synthetic)}")
    labels = sorted({e.label_ for d in [*inputs.train, *inputs.test] for e in d.ents})

    trainings: List[Training] = []
    planned: List[Condition] = []

    def run(
        name: str, docs: Sequence[Doc], first: Sequence[Doc] = (), budget: int = 1, keep: bool = False
    ) -> Condition:
        """Plan `repeats` trainings on `docs` (after `first`, when given) with `budget` times the budget;
        `keep`: save the models as stages for later trainings to resume from."""
        seeds = list(range(seed, seed + repeats))
        condition = Condition(name, len(docs), list(range(len(trainings), len(trainings) + repeats)), seeds)
        for run_seed in seeds:
            trainings.append(Training(name, docs, budget, run_seed, first=first, keep=keep))
        planned.append(condition)
        return condition

    def combined(name: str, real: Sequence[Doc], synthetic: Sequence[Doc]) -> Condition:
        if schedule == "mixed":
            return run(name, [*real, *synthetic])
        return run(f"{name} (synthetic first)", real, first=synthetic)

    conditions: Dict[str, Any] = {"real": run("real", inputs.train)}
    for name, docs in inputs.synthetic.items():
        # With synthetic-first, the model trained on a set alone is also the stage the real notes resume from.
        conditions[f"synthetic:{name}"] = run(f"synthetic:{name}", docs, keep=schedule != "mixed")
        if name != BASELINE:
            conditions[f"real+synthetic:{name}"] = combined(f"real+synthetic:{name}", inputs.train, docs)
    curve = learning_curve(inputs, conditions, fractions, augment, schedule, pool, seed, run, combined)
    setup = Setup(Path(config_path), max_steps, epochs, overrides, inputs.test, labels, seed)
    log(f"{len(trainings)} trainings, {n_process} at a time")
    with tempfile.TemporaryDirectory() as stage_dir:
        outcomes = run_trainings(trainings, setup, Path(stage_dir), n_process=n_process, log=log)
    for condition in planned:
        condition.summarize(outcomes, repeats, log)
    conditions = {name: condition.scores for name, condition in conditions.items()}
    for point in curve["points"]:
        for side in ("real", "augmented"):
            if isinstance(point[side], Condition):
                point[side] = point[side].scores
    ratios = {
        name: {
            group: f1_ratio(conditions[f"synthetic:{name}"], conditions["real"], group)
            for group in (ALL, CLINICAL)
        }
        for name in inputs.synthetic
    }
    text = {name: text_measures(inputs, docs, seed) for name, docs in inputs.synthetic.items()}
    text["real"] = set_measures([d.text for d in inputs.train], [d.text for d in inputs.dev], seed)
    result = {
        "settings": {
            "config": str(config_path),
            "overrides": {k: str(v) for k, v in (overrides or {}).items()},
            "max_steps": max_steps,
            "epochs": epochs,
            "seed": seed,
            "repeats": repeats,
            "labels": labels,
            "clinical_labels": [label for label in labels if label not in PHI_CATEGORIES],
            "augment": augment,
            "schedule": schedule,
            "pool": pool,
            "baseline": BASELINE,
            "min_ratio": min_ratio,
            "min_ratios": {name: (min_ratios or {}).get(name, min_ratio) for name in inputs.synthetic},
            "train_notes": len(inputs.train),
            "test_notes": len(inputs.test),
            "skipped_synthetic_problems": inputs.skipped,
        },
        "conditions": conditions,
        "ratios": ratios,
        "learning_curve": curve,
        "text": text,
    }
    result["verdicts"] = utility_verdicts(result)
    return result


def learning_curve(
    inputs: UtilityInputs,
    conditions: Dict[str, Condition],
    fractions: Sequence[float],
    augment: str,
    schedule: str,
    pool: str,
    seed: int,
    run: Callable[..., Condition],
    combined: Callable[[str, Sequence[Doc], Sequence[Doc]], Condition],
) -> Dict[str, Any]:
    """F1 with a fraction of the real notes, alone and with synthetic notes: those made from the same real
    notes (`pool` "same") or all of them ("all"); each point's two sides are planned `Condition`s."""
    synthetic = inputs.synthetic[augment]
    budget = 1 if schedule == "mixed" else 2
    alone = "" if budget == 1 else " (twice the budget)"
    points = []
    for fraction, indices in nested_subsets(len(inputs.train), [f for f in fractions if f < 1], seed).items():
        real = [inputs.train[i] for i in indices]
        ids = {source_id(d) for d in real} - {None}
        extra = list(synthetic) if pool == "all" else [d for d in synthetic if source_id(d) in ids]
        points.append(
            {
                "fraction": fraction,
                "real_notes": len(real),
                "synthetic_notes": len(extra),
                "real": run(f"real {fraction:.0%}{alone}", real, budget=budget),
                "augmented": combined(f"real {fraction:.0%} + {len(extra)} synthetic:{augment}", real, extra),
            }
        )
    full = conditions.get(f"real+synthetic:{augment}")
    points.append(
        {
            "fraction": 1.0,
            "real_notes": len(inputs.train),
            "synthetic_notes": len(synthetic),
            "real": conditions["real"] if budget == 1 else run(f"real{alone}", inputs.train, budget=budget),
            "augmented": full,
        }
    )
    return {"augment": augment, "schedule": schedule, "pool": pool, "points": points}


def utility_verdicts(result: Dict[str, Any]) -> List[Dict[str, Any]]:
    """Lines for the report: each generator's F1 ratio against its target (`min_ratios`, else `min_ratio`),
    augmentation at each fraction."""
    settings = result["settings"]
    repeats = settings.get("repeats", 1)
    of_means = f" (means of {repeats} seeds)" if repeats > 1 else ""
    order = (
        " (trained on it first, then on the real notes; real alone with twice the budget)"
        if settings.get("schedule") == "synthetic-first"
        else ""
    )
    shared = " (every synthetic note, as shared)" if settings.get("pool") == "all" else ""
    augment = result["learning_curve"]["augment"]
    lines = []
    for name, ratio in result["ratios"].items():
        value = ratio[ALL]
        target = settings.get("min_ratios", {}).get(name, settings["min_ratio"])
        is_baseline = name == settings["baseline"]
        lines.append(
            {
                "metric": f"f1_ratio:{name}",
                "value": value,
                "threshold": target,
                "pass": value is not None and value >= target,
                "text": f"train on {name} notes, test on real: F1 ratio {fmt(value)} (clinical "
                f"{fmt(ratio[CLINICAL])}){of_means}; target >= {target}"
                + (" (baseline: anonymized copies of the real notes)" if is_baseline else ""),
            }
        )
    for point in result["learning_curve"]["points"]:
        if point["augmented"] is None:
            continue
        real, augmented = headline_f1(point["real"], ALL), headline_f1(point["augmented"], ALL)
        lines.append(
            {
                "metric": f"augmentation@{point['fraction']:g}",
                "value": augmented - real,
                "threshold": 0.0,
                "pass": augmented >= real,
                "text": f"{point['fraction']:.0%} of the real notes: F1 {real:.3f} alone, "
                f"{augmented:.3f} with synthetic:{augment}{shared}{order}{of_means}",
            }
        )
    return lines
