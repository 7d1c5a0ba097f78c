"""The generator interface: what `synth_notes` hands a generator and what it gets back.

A generator never builds Docs or computes character offsets. It returns the
synthetic note as a list of `Segment`s (plain text pieces, some of them
entities); the component concatenates them, so every entity span of the
synthetic Doc is exact by construction, whatever the generator wrote.
"""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Sequence, Tuple, runtime_checkable

PHI = "phi"
KEEP = "keep"
DROP = "drop"


@dataclass(frozen=True)
class EntitySpec:
    """An entity of the source note and what the pipe does with it.

    start (int): Character offset of the start in the source text.
    end (int): Character offset of the end in the source text.
    label (str): The entity label.
    text (str): The entity text.
    action (str): "phi" (replaced by a surrogate), "keep" (kept verbatim)
        or "drop" (not carried over as an entity).
    """

    start: int
    end: int
    label: str
    text: str
    action: str


@dataclass
class NotePlan:
    """Everything a generator needs to write one synthetic note.

    text (str): The source text.
    entities (List[EntitySpec]): The source entities, sorted, non-overlapping.
    seed (int): The per-note seed, derived from the pipe seed and the text, so
        a note's output does not depend on batching or process count.
    note_type (Optional[str]): The note type, when the source names one.
    token_pos (List[Tuple[int, int, str]]): (start, end, coarse POS) of each
        token, when the pipeline has a tagger; empty otherwise.
    """

    text: str
    entities: List[EntitySpec]
    seed: int
    note_type: Optional[str] = None
    token_pos: List[Tuple[int, int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Segment:
    """A piece of synthetic text.

    text (str): The piece.
    label (Optional[str]): The entity label if the piece is an entity.
    source (Optional[int]): Index into `NotePlan.entities` of the source entity
        this piece realises, if any.
    """

    text: str
    label: Optional[str] = None
    source: Optional[int] = None


@dataclass
class Synthesis:
    """A generator's output for one note: its segments and counters for the report."""

    segments: List[Segment]
    counts: Dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Generator(Protocol):
    """A synthetic-note generator, registered in `spacy.registry.misc`.

    Optional methods the component calls when present: `initialize(get_examples,
    nlp)`, `to_disk(path)`, `from_disk(path)` (for generators with weights).
    """

    def __call__(self, plans: Sequence[NotePlan]) -> List[Synthesis]:
        """Write one synthetic note per plan, in order."""
        ...
