"""The trainings of a utility evaluation: stages trained once, two waves, the same scores in workers."""

from pathlib import Path

import pytest

from spacy_synthnotes.utility.trainings import Setup, Training, plan_waves, run_trainings

CONFIG = Path(__file__).resolve().parents[1] / "configs" / "ner_demo.cfg"
SMALL = {"training.batcher.size.start": 30, "training.batcher.size.stop": 300}


def plan(docs):
    """A plain training kept as a stage, one resuming from it, one resuming from a stage of its own, and
    the first again with another seed."""
    return [
        Training("kept", docs[:20], keep=True),
        Training("resumes kept", docs[20:30], first=docs[:20]),
        Training("resumes a stage", docs[20:30], first=docs[30:40]),
        Training("kept, seed 1", docs[:20], seed=1),
    ]


def test_plan_waves_trains_each_stage_once_before_the_trainings_that_resume_from_it(utility_run, tmp_path):
    docs = utility_run["inputs"].train
    first, resumed = plan_waves(plan(docs), tmp_path)
    assert [index for index, _ in first] == [0, None, 3] and [index for index, _ in resumed] == [1, 2]
    (_, kept), (_, stage), (_, other_seed) = first
    assert kept.save == tmp_path / "0" and kept.score and other_seed.save is None and other_seed.seed == 1
    assert stage.docs == docs[30:40] and stage.save == tmp_path / "1" and not stage.score
    assert [job.init for _, job in resumed] == [tmp_path / "0", tmp_path / "1"]
    assert all(job.docs == docs[20:30] and job.save is None for _, job in resumed)
    with pytest.raises(ValueError, match="n_process must be >= 1"):
        run_trainings(plan(docs), None, tmp_path, n_process=0)


def test_trainings_in_two_worker_processes_score_as_in_one(utility_run, tmp_path):
    inputs = utility_run["inputs"]
    labels = sorted({e.label_ for d in inputs.test for e in d.ents})
    setup = Setup(CONFIG, 30, 0, SMALL, inputs.test, labels, 0)
    logged = {1: [], 2: []}
    outcomes = {
        n: run_trainings(plan(inputs.train), setup, tmp_path / str(n), n_process=n, log=logged[n].append)
        for n in (1, 2)
    }
    assert len(outcomes[1]) == len(outcomes[2]) == 4  # the stage of its own is trained, not returned
    for (one, _), (two, _) in zip(outcomes[1], outcomes[2]):
        assert one["per_label"] == two["per_label"] and one["all"]["f"] == two["all"]["f"]
    assert len({round(scores["all"]["f"], 6) for scores, _ in outcomes[1]}) > 1  # different models
    untimed = {n: sorted(line.rsplit(", ", 1)[0] for line in lines) for n, lines in logged.items()}
    assert untimed[1] == untimed[2] and len(untimed[1]) == 4
    assert any(line.startswith("  trained resumes a stage (seed 0): F1 ") for line in logged[2])
    assert (tmp_path / "2" / "1" / "ner").is_dir()  # the stage was saved for the resumed training
