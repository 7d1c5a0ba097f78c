"""The Ray backend of sharded synthesis: one Ray task per shard, the pipeline loaded once per worker.

Install with `pip install spacy_synthnotes[ray]`. Connects to a running cluster
(`RAY_ADDRESS`) or starts a local instance. Results come back in shard order,
with at most `2 × cluster CPUs` shards in flight, so the driver's memory stays
bounded; the driver writes shards and the manifest exactly as the local
backend does.
"""

from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Tuple

from spacy.tokens import Doc

from .sharded import ordered, render_bytes

try:
    import ray
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("The Ray backend needs Ray: pip install 'spacy_synthnotes[ray]'") from err

_render = ray.remote(render_bytes)


def render_shards_ray(
    pipeline: str, shards: Iterable[Tuple[Path, int, List[Doc], List[str]]], fmt: str, batch_size: int
) -> Iterator[Tuple[Path, int, List[str], bytes, Dict[str, Any]]]:
    """Render shards on Ray; yields (unit, index, problems, data, summary) in input order."""
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, include_dashboard=False, log_to_driver=False)
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))
    yield from ordered(shards, lambda data: _render.remote(data, fmt, batch_size, pipeline), ray.get, window)
