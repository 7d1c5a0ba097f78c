"""The Ray backend of sharded synthesis: one Ray task per shard, the pipeline loaded once per worker.

Install with `pip install spacy_synthnotes[ray]`. Connects to a running cluster
(`RAY_ADDRESS`) or starts a local instance. Results come back in shard order,
with at most `2 × cluster CPUs` shards in flight, so the driver's memory stays
bounded; the driver writes shards and the manifest exactly as the local
backend does.
"""

from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple, Union

from spacy.tokens import Doc, DocBin

try:
    import ray
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("The Ray backend needs Ray: pip install 'spacy_synthnotes[ray]'") from err

_PIPELINES: Dict[str, Any] = {}


def _pipeline(path: str):
    """The worker's pipeline, loaded on its first task and reused after."""
    if path not in _PIPELINES:
        from .synthesize import load_pipeline

        _PIPELINES[path] = load_pipeline(path)
    return _PIPELINES[path]


@ray.remote
def _render(pipeline: str, docs_bytes: bytes, fmt: str, batch_size: int) -> Tuple[bytes, Dict[str, Any]]:
    from .sharded import render_shard

    nlp = _pipeline(pipeline)
    docs = list(DocBin().from_bytes(docs_bytes).get_docs(nlp.vocab))
    return render_shard(nlp, docs, fmt, batch_size)


def render_shards_ray(
    pipeline: Union[str, Path],
    shards: Iterable[Tuple[Path, int, List[Doc], List[str]]],
    fmt: str,
    batch_size: int,
) -> Iterator[Tuple[Path, int, List[str], bytes, Dict[str, Any]]]:
    """Render shards on Ray; yields (unit, index, problems, data, summary) in input order."""
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    pending: List[Tuple[Path, int, List[str], Any]] = []
    for unit, index, docs, problems in shards:
        data = DocBin(docs=docs, store_user_data=True).to_bytes()
        pending.append((unit, index, problems, _render.remote(str(pipeline), data, fmt, batch_size)))
        if len(pending) >= window:
            unit0, index0, problems0, ref = pending.pop(0)
            yield (unit0, index0, problems0, *ray.get(ref))
    for unit, index, problems, ref in pending:
        yield (unit, index, problems, *ray.get(ref))
