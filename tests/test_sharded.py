"""Sharded synthesis: kill and resume, process count, Ray, malformed input, config changes."""

import json
import signal
import subprocess
import sys
import time
from itertools import islice

import pytest
import spacy
import srsly

from spacy_synthnotes.sharded import MANIFEST, read_manifest, synthesize_sharded


@pytest.fixture(scope="module")
def notes(demo_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("in") / "notes.jsonl"
    srsly.write_jsonl(path, islice(srsly.read_jsonl(demo_dir / "train.jsonl"), 160))
    return path


def files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_killed_run_resumes_to_identical_output(pipeline_dir, notes, tmp_path):
    full = tmp_path / "full"
    totals = synthesize_sharded(pipeline_dir, notes, full, shard_size=10)
    assert totals["notes"] == totals["written"] == 160 and totals["shards"] == 16

    killed = tmp_path / "killed"
    command = [
        sys.executable,
        "-m",
        "spacy_synthnotes",
        "synthesize",
        str(pipeline_dir),
        str(notes),
        str(killed),
        "--shard-size",
        "10",
    ]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(read_manifest(killed) if killed.exists() else {}) < 3:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = len(read_manifest(killed))
    assert 3 <= done_before < 16, "the run was not killed midway"

    resumed = synthesize_sharded(pipeline_dir, notes, killed, shard_size=10)
    assert resumed["resumed_shards"] == done_before
    assert resumed["notes"] == 160 and resumed["written"] == 160
    assert files(killed) == files(full)  # byte-identical shards and manifest, no duplicates, no losses


def test_output_does_not_depend_on_process_count(pipeline_dir, notes, tmp_path):
    synthesize_sharded(pipeline_dir, notes, tmp_path / "one", shard_size=40, n_process=1)
    synthesize_sharded(pipeline_dir, notes, tmp_path / "two", shard_size=40, n_process=2)
    assert files(tmp_path / "one") == files(tmp_path / "two")


def test_ray_backend_equals_local(pipeline_dir, notes, tmp_path):
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    try:
        small = tmp_path / "small.jsonl"
        srsly.write_jsonl(small, islice(srsly.read_jsonl(notes), 30))
        synthesize_sharded(pipeline_dir, small, tmp_path / "local", shard_size=10)
        synthesize_sharded(pipeline_dir, small, tmp_path / "ray", shard_size=10, backend="ray")
    finally:
        ray.shutdown()
    assert files(tmp_path / "ray") == files(tmp_path / "local")


def test_malformed_input_is_reported_in_the_manifest(pipeline_dir, tmp_path):
    good = {"text": "Seen by Dr. Wong on 3/14/2021.", "spans": [[12, 16, "DOCTOR"], [20, 29, "DATE"]]}
    lines = [
        json.dumps(good).encode(),
        b'{"text": "broken',
        '{"text": "caf\xe9 note"}'.encode("latin-1"),
        b'{"text": ""}',
        json.dumps({"text": "x " * 600_000}).encode(),
        json.dumps(good).encode(),
    ]
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    totals = synthesize_sharded(pipeline_dir, path, tmp_path / "out", shard_size=4)
    assert totals["notes"] == 2
    problems = " | ".join(totals["problems"])
    for expected in (
        "line 2: invalid JSON",
        "line 3 (byte 13): not valid utf8",
        "line 4: empty text",
        "line 5: text has 1,200,000 characters, more than max_chars=1,000,000",
    ):
        assert expected in problems
    assert len(totals["problems"]) == 4
    with pytest.raises(Exception, match="line 2: invalid JSON"):
        synthesize_sharded(pipeline_dir, path, tmp_path / "strict", shard_size=4, on_error="raise")


def test_a_changed_config_is_refused(pipeline_dir, notes, tmp_path):
    small = tmp_path / "small.jsonl"
    srsly.write_jsonl(small, islice(srsly.read_jsonl(notes), 5))
    synthesize_sharded(pipeline_dir, small, tmp_path / "out", shard_size=5)
    other = spacy.blank("en")
    other.add_pipe("synth_notes", config={"seed": 10})
    other.to_disk(tmp_path / "other")
    with pytest.raises(ValueError, match="another config"):
        synthesize_sharded(tmp_path / "other", small, tmp_path / "out", shard_size=5)
    assert (tmp_path / "out" / MANIFEST).exists()


def test_memory_does_not_grow_with_the_corpus(pipeline_dir, notes, tmp_path):
    from spacy_synthnotes.readers import JsonlCorpus
    from spacy_synthnotes.sharded import plan_shards, render_shard
    from spacy_synthnotes.synthesize import load_pipeline

    nlp, reader = load_pipeline(pipeline_dir), spacy.blank("en")
    sizes, texts = [], []
    for _, _, docs, _ in plan_shards([notes], "jsonl", 20, "skip", reader):
        data, _ = render_shard(nlp, docs, "jsonl", 8)
        texts += [json.loads(line)["text"] for line in data.decode("utf8").splitlines()]
        sizes.append((len(reader.vocab.strings), len(nlp.vocab.strings)))
    # Each shard's strings are freed after it: the pipeline's store is back to its size every time,
    # the reader's holds one shard's strings.
    assert len(sizes) == 8 and len({pipe for _, pipe in sizes}) == 1
    assert max(read for read, _ in sizes) < 1.5 * min(read for read, _ in sizes)
    # Freeing them changes nothing in the output.
    fresh = load_pipeline(pipeline_dir)
    direct = [d._.synthetic.text for d in fresh.pipe(JsonlCorpus(notes).docs(spacy.blank("en")))]
    assert texts == direct


def test_heap_is_trimmed_after_every_shard(pipeline_dir, notes, tmp_path, monkeypatch):
    import platform

    from spacy_synthnotes import sharded

    # glibc keeps freed fragments; malloc_trim hands them back (measured: 2 MB of RSS per shard without).
    assert sharded.release_memory() is (platform.libc_ver()[0] == "glibc")
    calls = []
    monkeypatch.setattr(sharded, "release_memory", lambda: calls.append(1) or True)
    totals = synthesize_sharded(pipeline_dir, notes, tmp_path / "out", shard_size=50)
    assert totals["shards"] >= 3 and len(calls) == totals["shards"]


def test_worker_vocab_does_not_grow_with_the_corpus(pipeline_dir, notes, monkeypatch):
    from spacy.tokens import DocBin

    from spacy_synthnotes import sharded
    from spacy_synthnotes.sharded import plan_shards, render_bytes, render_shard
    from spacy_synthnotes.synthesize import load_pipeline

    # Pool and Ray workers get a shard as DocBin bytes; the strings of its notes must leave the
    # worker's vocab with the shard, or a worker's memory grows with every note it has seen.
    monkeypatch.setattr(sharded, "_WORKER", {})
    pipeline, reader, local = str(pipeline_dir), spacy.blank("en"), load_pipeline(pipeline_dir)
    sizes, same = [], []
    for _, _, docs, _ in plan_shards([notes], "jsonl", 20, "skip", reader):
        data, summary = render_bytes(DocBin(docs=docs, store_user_data=True).to_bytes(), "jsonl", 8, pipeline)
        sizes.append(len(sharded._WORKER[pipeline].vocab.strings))
        same.append((data, summary) == render_shard(local, docs, "jsonl", 8))
    assert len(sizes) == 8 and len(set(sizes)) == 1, sizes
    assert all(same)
