"""The NER trainings of a utility evaluation, run one after the other or in worker processes.

A `Training` is one spaCy NER training of a condition: on some notes, with a multiple of the step budget
and a seed, optionally resumed from a *stage* (the model trained on other notes first, saved once per
(notes, budget, seed) and shared by every training that resumes from it). `run_trainings` runs them in
two waves, each in the order given: first every training that needs no stage, and every stage; then the
resumed ones. With `n_process` > 1 each wave runs in that many worker processes: spaCy's CPU training
uses one core, so on 2 cores two at a time took 430 s where one at a time took 780 s (each training
about 1.5 times slower beside another). The seeds make every training the same wherever it runs.
"""

import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

from . import ner

StageKey = Tuple[Tuple[int, ...], int, int]


@dataclass
class Training:
    """One training: on `docs` with `budget` times the step budget and `seed`; resumed from the stage
    trained on `first` (same budget and seed) when given; `keep`: also save it as the stage of `docs`."""

    name: str
    docs: Sequence[Doc]
    budget: int = 1
    seed: int = 0
    first: Sequence[Doc] = ()
    keep: bool = False


@dataclass
class Setup:
    """What every training of an evaluation shares: the config, the budget and the real test notes."""

    config_path: Path
    max_steps: int
    epochs: int
    overrides: Optional[Dict[str, Any]]
    test: Sequence[Doc]
    labels: Sequence[str]
    score_seed: int


@dataclass
class Job:
    """A training as a worker runs it: `init` a saved stage to resume from, `save` where to save the
    model, `score` whether to score it on the test notes (a stage of a resumed training only is not)."""

    docs: Sequence[Doc]
    budget: int
    seed: int
    init: Optional[Path] = None
    save: Optional[Path] = None
    score: bool = True


Outcome = Tuple[Optional[Dict[str, Any]], float]  # the scores (None if not scored), seconds

_WORKER_SETUP: Optional[Setup] = None


def stage_key(docs: Sequence[Doc], budget: int, seed: int) -> StageKey:
    return tuple(map(id, docs)), budget, seed


def run_job(setup: Setup, job: Job) -> Outcome:
    """Train (and save, and score) one job; RETURNS (scores or None, seconds)."""
    start = time.time()
    nlp = ner.train_ner(
        job.docs,
        setup.config_path,
        max_steps=setup.max_steps * job.budget,
        epochs=setup.epochs * job.budget,
        seed=job.seed,
        overrides=setup.overrides,
        init=job.init,
    )
    if job.save is not None:
        nlp.to_disk(job.save)
    scores = ner.score_ner(nlp, setup.test, setup.labels, seed=setup.score_seed) if job.score else None
    return scores, round(time.time() - start, 1)


def _init_worker(setup: Setup) -> None:
    global _WORKER_SETUP
    _WORKER_SETUP = setup


def _run_in_worker(job: Job) -> Outcome:
    assert _WORKER_SETUP is not None, "worker started without its setup"
    return run_job(_WORKER_SETUP, job)


def plan_waves(
    trainings: Sequence[Training], stage_dir: Path
) -> Tuple[List[Tuple[Optional[int], Job]], List[Tuple[Optional[int], Job]]]:
    """The two waves of jobs, each job with the index of its training (None for a stage of resumed
    trainings only): a stage is trained once, by the `keep` training of the same notes if there is one."""
    stages: Dict[StageKey, Path] = {}
    for training in trainings:
        key = stage_key(training.docs, training.budget, training.seed)
        if training.keep and key not in stages:
            stages[key] = stage_dir / str(len(stages))
    kept = set(stages)
    first: List[Tuple[Optional[int], Job]] = []
    resumed: List[Tuple[Optional[int], Job]] = []
    for index, training in enumerate(trainings):
        if training.first:
            key = stage_key(training.first, training.budget, training.seed)
            if key not in stages:
                stages[key] = stage_dir / str(len(stages))
                first.append(
                    (None, Job(training.first, training.budget, training.seed, save=stages[key], score=False))
                )
            resumed.append((index, Job(training.docs, training.budget, training.seed, init=stages[key])))
            continue
        key = stage_key(training.docs, training.budget, training.seed)
        save = stages[key] if key in kept else None
        kept.discard(key)
        first.append((index, Job(training.docs, training.budget, training.seed, save=save)))
    return first, resumed


def run_trainings(
    trainings: Sequence[Training],
    setup: Setup,
    stage_dir: Path,
    n_process: int = 1,
    log: Callable[[str], None] = lambda line: None,
) -> List[Outcome]:
    """Run every training (see the module doc); RETURNS their (scores, seconds), in order."""
    if n_process < 1:
        raise ValueError(f"n_process must be >= 1, got {n_process}")
    outcomes: List[Optional[Outcome]] = [None] * len(trainings)

    def done(index: Optional[int], outcome: Outcome) -> None:
        if index is None:
            return
        outcomes[index] = outcome
        training, (scores, seconds) = trainings[index], outcome
        f1 = f"F1 {scores[ner.ALL]['f']:.3f}, " if scores else ""
        log(f"  trained {training.name} (seed {training.seed}): {f1}{len(training.docs)} notes, {seconds}s")

    stage_dir.mkdir(parents=True, exist_ok=True)
    waves = plan_waves(trainings, stage_dir)
    if n_process == 1:
        for wave in waves:
            for index, job in wave:
                done(index, run_job(setup, job))
    else:
        context = get_context("spawn")  # no fork of a process that may hold torch threads
        with ProcessPoolExecutor(
            n_process, mp_context=context, initializer=_init_worker, initargs=(setup,)
        ) as pool:
            for wave in waves:
                futures = {pool.submit(_run_in_worker, job): index for index, job in wave}
                for future in as_completed(futures):
                    done(futures[future], future.result())
    assert all(outcome is not None for outcome in outcomes)
    return outcomes  # type: ignore[return-value]
