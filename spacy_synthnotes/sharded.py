"""Corpus-scale synthesis: output shards with atomic renames, a manifest, and resume after a crash.

Input files (JSONL, DocBin, CoNLL or brat: a file or a directory of them) are
read as streams; the valid notes of each input file are cut into output shards
of `shard_size` notes. Each shard is written to a temporary file, renamed into
place (atomic on POSIX) and then recorded in `manifest.jsonl` with its input
file, note range, problems, SHA-256 and the hash of the pipeline config and
seed. A rerun reads the manifest, checks the config hash, verifies finished
shards and synthesizes only the rest, so a run killed at any point resumes
without losing or duplicating a note, and the output is byte-identical to an
uninterrupted run (each note's seed depends only on the pipe seed and its text).
Backends: "local" (in this process, or with `n_process > 1` a pool of worker
processes that each render whole shards) and "ray" (one Ray task per shard); a
worker loads the pipeline once.
"""

import ctypes
import gc
import hashlib
import itertools
import json
import multiprocessing
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, Iterator, List, Optional, Tuple, Union

import spacy
import srsly
from spacy.language import Language
from spacy.tokens import Doc, DocBin

from .readers import guess_format, open_corpus
from .readers.common import iter_files
from .synthesize import Summary, load_pipeline, output_record, synth_pipe_name

MANIFEST = "manifest.jsonl"
SUFFIXES = {
    "jsonl": [".jsonl"],
    "docbin": [".spacy"],
    "conll": [".conll", ".bio", ".iob", ".tsv"],
    "brat": [".txt"],
}
BACKENDS = ("local", "ray")


def config_hash(nlp: Language) -> str:
    """Hash of the pipeline config (generator settings and seed included)."""
    return hashlib.sha256(nlp.config.to_str().encode("utf8")).hexdigest()[:16]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file_:
        for block in iter(lambda: file_.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_units(path: Path, fmt: str) -> List[Path]:
    """The input shards: one file per unit (brat: the whole directory is one unit)."""
    if fmt == "brat":
        return [Path(path)]
    return iter_files(path, SUFFIXES[fmt])


def read_synthetic(path: Union[str, Path]) -> Tuple[List[Doc], int]:
    """Synthetic Docs from `synthesize` output (a .jsonl/.spacy file or a sharded directory), and the
    number of spans that could not be kept. JSONL text is tokenized afresh and split at every span
    boundary (a generator may glue an entity to its neighbours), so each span keeps its characters."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".jsonl", ".spacy") and p.name != MANIFEST)
    else:
        files = [path]
    docs: List[Doc] = []
    skipped = 0
    for file in files:
        options = {} if file.suffix == ".spacy" else {"alignment_mode": "split"}
        corpus = open_corpus(file, on_error="skip", **options)
        docs.extend(corpus.docs(spacy.blank("en")))
        skipped += len(corpus.problems)
    if not docs:
        raise ValueError(f"{path}: no synthetic notes")
    return docs, skipped


def read_manifest(output_dir: Path) -> Dict[Tuple[str, int], Dict[str, Any]]:
    """Manifest entries by (input, shard); a later entry for a shard (a redone shard) wins."""
    path = output_dir / MANIFEST
    entries: Dict[Tuple[str, int], Dict[str, Any]] = {}
    if not path.exists():
        return entries
    for line in path.read_text(encoding="utf8").splitlines():
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            break  # a line cut by a crash: the shard it names is redone
        entries[(entry["input"], entry["shard"])] = entry
    return entries


def serialize_shard(nlp: Language, processed: Iterable[Doc], fmt: str) -> Tuple[bytes, Dict]:
    """The output file's bytes and the summary of one shard's processed Docs."""
    summary = Summary(nlp.get_pipe(synth_pipe_name(nlp)).cfg["phi_labels"])
    if fmt == "jsonl":
        lines = []
        for doc in processed:
            synthetic = doc._.synthetic
            if summary.add(doc, synthetic):
                lines.append(srsly.json_dumps(output_record(doc, synthetic)) + "\n")
        return "".join(lines).encode("utf8"), summary.to_dict()
    docbin = DocBin(store_user_data=True)
    for doc in processed:
        synthetic = doc._.synthetic
        if summary.add(doc, synthetic):
            synthetic._.set("note_meta", doc._.get("note_meta"))
            docbin.add(synthetic)
    return docbin.to_bytes(), summary.to_dict()


def _malloc_trim() -> Optional[Callable[[int], int]]:
    try:
        return ctypes.CDLL(None).malloc_trim  # glibc
    except (AttributeError, OSError):  # macOS, musl, Windows: nothing to call
        return None


MALLOC_TRIM = _malloc_trim()


def release_memory() -> bool:
    """Collect garbage and hand freed heap pages back to the OS after a shard; True if trimmed.

    A shard makes millions of small allocations; glibc keeps the freed fragments, so without this the
    resident memory of a long run creeps up (about 2 MB per 500-note shard measured, 917 MB at 100,000
    notes) although nothing leaks. glibc's `malloc_trim` returns them; elsewhere this only collects.
    """
    gc.collect()
    if MALLOC_TRIM is None:
        return False
    MALLOC_TRIM(0)
    return True


def render_shard(nlp: Language, docs: Iterable[Doc], fmt: str, batch_size: int) -> Tuple[bytes, Dict]:
    """Synthesize one shard's notes in this process.

    The strings the synthetic notes add to the vocab are freed after the shard
    (`Language.memory_zone`), so memory does not grow with the corpus.
    """
    with nlp.memory_zone():
        return serialize_shard(nlp, nlp.pipe(docs, batch_size=batch_size), fmt)


_WORKER: Dict[str, Language] = {}


def _load_worker(pipeline: str, threads: int = 0) -> None:
    from .synthesize import load_pipeline

    if threads:
        # N workers share the machine's cores: each gets its share of torch threads, not all of them.
        import torch

        torch.set_num_threads(threads)
    _WORKER[pipeline] = load_pipeline(pipeline)


def render_bytes(
    docs_bytes: bytes, fmt: str, batch_size: int, pipeline: Optional[str] = None
) -> Tuple[bytes, Dict]:
    """Worker side (pool and Ray): a shard sent as DocBin bytes -> (output bytes, summary), the pipeline
    loaded once. The input notes are read inside the shard's memory zone, so the strings they bring (names,
    numbers, every new word) leave the worker's vocab with the shard, as in the main process."""
    if pipeline not in _WORKER:
        _load_worker(pipeline)
    nlp = _WORKER[pipeline]
    # get_docs is a generator: the notes (and their strings) are made as nlp.pipe reads them, in the zone.
    result = render_shard(nlp, DocBin().from_bytes(docs_bytes).get_docs(nlp.vocab), fmt, batch_size)
    release_memory()
    return result


def ordered(
    shards: Iterable[Tuple[Path, int, List[Doc], List[str]]],
    submit: Callable[[bytes], Any],
    result: Callable[[Any], Tuple[bytes, Dict]],
    window: int,
) -> Iterator[Tuple[Path, int, List[str], bytes, Dict]]:
    """Send shards to workers with at most `window` in flight; yield results in input order."""
    pending: Deque[Tuple[Path, int, List[str], Any]] = deque()
    for unit, index, docs, problems in shards:
        pending.append((unit, index, problems, submit(DocBin(docs=docs, store_user_data=True).to_bytes())))
        if len(pending) >= window:
            unit0, index0, problems0, handle = pending.popleft()
            yield (unit0, index0, problems0, *result(handle))
    for unit, index, problems, handle in pending:
        yield (unit, index, problems, *result(handle))


def render_pool(
    pipeline: str,
    shards: Iterable[Tuple[Path, int, List[Doc], List[str]]],
    fmt: str,
    n_process: int,
    batch_size: int,
) -> Iterator[Tuple[Path, int, List[str], bytes, Dict]]:
    """Render whole shards in `n_process` worker processes (synthesis, checks and serialization)."""
    context = multiprocessing.get_context("spawn")
    threads = max(1, (os.cpu_count() or 1) // n_process)
    with ProcessPoolExecutor(
        n_process, mp_context=context, initializer=_load_worker, initargs=(pipeline, threads)
    ) as pool:
        yield from ordered(
            shards,
            lambda data: pool.submit(render_bytes, data, fmt, batch_size, pipeline),
            lambda f: f.result(),
            2 * n_process,
        )


def write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("wb") as file_:
        file_.write(data)
        file_.flush()
        os.fsync(file_.fileno())
    os.replace(tmp, path)


def append_manifest(output_dir: Path, entry: Dict[str, Any]) -> None:
    with (output_dir / MANIFEST).open("a", encoding="utf8") as file_:
        file_.write(json.dumps(entry, sort_keys=True) + "\n")
        file_.flush()
        os.fsync(file_.fileno())


def plan_shards(
    units: List[Path], fmt: str, shard_size: int, on_error: str, nlp: Language
) -> Iterator[Tuple[Path, int, List[Doc], List[str]]]:
    """Yield (input unit, shard index, docs, input problems) for every shard, streaming.

    A shard's Docs are valid until the next one is requested: the strings they
    added to `nlp.vocab` are freed then (`Language.memory_zone`), so reading a
    corpus of any size holds one shard's strings.
    """
    for unit in units:
        corpus = open_corpus(unit, fmt, on_error=on_error)
        docs = corpus.docs(nlp)
        for index in itertools.count():
            with nlp.memory_zone():
                seen = len(corpus.problems)
                chunk = list(itertools.islice(docs, shard_size))
                problems = [str(p) for p in corpus.problems[seen:]]
                if not chunk and not problems:
                    break
                yield unit, index, chunk, problems
            if len(chunk) < shard_size:
                break


def synthesize_sharded(
    pipeline: Union[str, Path],
    input_path: Union[str, Path],
    output_dir: Union[str, Path],
    *,
    input_format: str = "auto",
    output_format: str = "jsonl",
    shard_size: int = 1000,
    batch_size: int = 32,
    n_process: int = 1,
    on_error: str = "skip",
    backend: str = "local",
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> Dict[str, Any]:
    """Synthesize a corpus into `output_dir` shard by shard; resume where a previous run stopped.

    RETURNS (Dict[str, Any]): Totals over the whole manifest (notes, written, problems, shards, resumed).
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if output_format not in ("jsonl", "docbin"):
        raise ValueError(f"output_format must be jsonl or docbin, got {output_format!r}")
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    nlp = load_pipeline(pipeline)
    chash = config_hash(nlp)
    fmt = guess_format(input_path) if input_format == "auto" else input_format
    done = {}
    for key, entry in read_manifest(output_dir).items():
        if entry["config_hash"] != chash:
            raise ValueError(
                f"{output_dir / MANIFEST} was written by a pipeline with another config "
                f"(hash {entry['config_hash']}, now {chash}); use a new output directory"
            )
        shard_file = output_dir / entry["output"]
        if shard_file.exists() and file_sha256(shard_file) == entry["sha256"]:
            done[key] = entry
    resumed = len(done)
    suffix = ".jsonl" if output_format == "jsonl" else ".spacy"
    shards = plan_shards(input_units(Path(input_path), fmt), fmt, shard_size, on_error, spacy.blank(nlp.lang))
    todo = (
        (unit, index, docs, problems)
        for unit, index, docs, problems in shards
        if (str(unit), index) not in done
    )
    if backend == "ray":
        from .ray_backend import render_shards_ray

        rendered: Iterable = render_shards_ray(str(pipeline), todo, output_format, batch_size)
    elif n_process > 1:
        rendered = render_pool(str(pipeline), todo, output_format, n_process, batch_size)
    else:
        rendered = (
            (unit, index, problems, *render_shard(nlp, docs, output_format, batch_size))
            for unit, index, docs, problems in todo
        )
    for unit, index, problems, data, summary in rendered:
        name = f"{unit.stem}-{index:05d}{suffix}"
        write_atomic(output_dir / name, data)
        entry = {
            "input": str(unit),
            "shard": index,
            "first_note": index * shard_size,
            "notes": summary["notes"],
            "written": summary["written"],
            "dropped_notes": summary["dropped_notes"],
            "phi_strings_leaked": summary["phi_strings_leaked"],
            "counts": summary["counts"],
            "problems": problems,
            "output": name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "config_hash": chash,
            "seed": nlp.get_pipe(synth_pipe_name(nlp)).cfg["seed"],
        }
        append_manifest(output_dir, entry)
        del data
        release_memory()
        if progress is not None:
            progress(entry)
    entries = list(read_manifest(output_dir).values())
    return {
        "shards": len(entries),
        "resumed_shards": resumed,
        "notes": sum(e["notes"] for e in entries),
        "written": sum(e["written"] for e in entries),
        "problems": [p for e in entries for p in e["problems"]],
        "phi_strings_leaked": sum(e["phi_strings_leaked"] for e in entries),
        "config_hash": chash,
    }
