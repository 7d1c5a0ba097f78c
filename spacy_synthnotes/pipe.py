"""The `synth_notes` pipeline component."""

import hashlib
import json
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Union

import srsly
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import SimpleFrozenList, from_disk, minibatch, to_disk
from thinc.api import Config

from .extensions import (
    NOTE_META,
    SYNTHETIC_ALIGNMENT,
    SYNTHETIC_DATA,
    SYNTHETIC_REPORT,
    install_extensions,
)
from .generators.base import DROP, KEEP, PHI, EntitySpec, Generator, NotePlan, Synthesis
from .generators.surrogate import SurrogateGenerator
from .labels import DEFAULT_PHI_LABELS
from .phi.patterns import Match
from .phi.residual import MODES as RESIDUAL_MODES
from .phi.residual import merge_plain, residual_matches, scrub, source_phi

DEFAULT_CONFIG_STR = f"""
[synth_notes]
phi_labels = {json.dumps(DEFAULT_PHI_LABELS)}
keep_labels = null
strict_labels = false
residual_check = "replace"
residual_names = true
seed = 0

[synth_notes.generator]
@misc = "spacy_synthnotes.Surrogate.v1"
locale = "en_US"
date_shift_min = 30
date_shift_max = 365
age_jitter = 2
categories = null
"""
DEFAULT_CONFIG = Config().from_str(DEFAULT_CONFIG_STR)


@Language.factory(
    "synth_notes",
    assigns=[f"doc._.{SYNTHETIC_DATA}", f"doc._.{SYNTHETIC_ALIGNMENT}", f"doc._.{SYNTHETIC_REPORT}"],
    requires=["doc.ents"],
    default_config=DEFAULT_CONFIG["synth_notes"],
)
def make_synth_notes(
    nlp: Language,
    name: str,
    generator: Generator,
    phi_labels: List[str],
    keep_labels: Optional[List[str]],
    strict_labels: bool,
    residual_check: str,
    residual_names: bool,
    seed: int,
) -> "SynthNotes":
    """Create a `synth_notes` component (see `SynthNotes`)."""
    return SynthNotes(
        nlp,
        name,
        generator=generator,
        phi_labels=phi_labels,
        keep_labels=keep_labels,
        strict_labels=strict_labels,
        residual_check=residual_check,
        residual_names=residual_names,
        seed=seed,
    )


class SynthNotes:
    """Write a synthetic version of each Doc from its entities.

    Each processed Doc gets `doc._.synthetic` (a new Doc: the synthetic text
    with the kept clinical entities and the surrogate PHI as `ents`, exact
    character spans), `doc._.synthetic_alignment` (one record per source
    entity: its span, its synthetic span or None, and the action) and
    `doc._.synthetic_report` (counters). The source Doc's text, tokens and
    entities are left unchanged.
    """

    def __init__(
        self,
        nlp: Language,
        name: str = "synth_notes",
        *,
        generator: Generator,
        phi_labels: Sequence[str] = tuple(DEFAULT_PHI_LABELS),
        keep_labels: Optional[Sequence[str]] = None,
        strict_labels: bool = False,
        residual_check: str = "replace",
        residual_names: bool = True,
        seed: int = 0,
    ):
        """Initialize the component.

        nlp (Language): The pipeline; its tokenizer tokenizes the synthetic text.
        name (str): The component name.
        generator (Generator): The registered generator that writes the notes.
        phi_labels (Sequence[str]): Entity labels that are PHI and get replaced.
        keep_labels (Optional[Sequence[str]]): Clinical labels kept as entities of
            the synthetic Doc. None keeps every label that is not PHI.
        strict_labels (bool): Raise on an entity whose label is neither PHI nor
            kept, instead of carrying its text over without an entity.
        residual_check (str): After generation, scan the synthetic text for
            identifier-shaped strings (dates, contacts, IDs, addresses, ages over
            89, and with `residual_names` names in context) and for the source
            note's own PHI strings (whole words, any case), outside the entities
            the pipe wrote: "replace" them by surrogates, "drop" the note
            (`doc._.synthetic` is None), or "off".
        residual_names (bool): Include the name heuristics in the residual check.
        seed (int): The seed; each note's seed is derived from it and the text.
        """
        install_extensions()
        if residual_check not in RESIDUAL_MODES:
            raise ValueError(f"residual_check must be one of {RESIDUAL_MODES}, got {residual_check!r}")
        overlap = set(phi_labels) & set(keep_labels or ())
        if overlap:
            raise ValueError(f"Labels {sorted(overlap)} are in both phi_labels and keep_labels.")
        if not isinstance(generator, Generator):
            raise TypeError(f"generator must be callable on a list of NotePlan, got {generator!r}")
        self.name = name
        self.vocab = nlp.vocab
        self.tokenizer = nlp.tokenizer
        self.generator = generator
        self.cfg: Dict[str, Any] = {
            "phi_labels": list(phi_labels),
            "keep_labels": None if keep_labels is None else list(keep_labels),
            "strict_labels": strict_labels,
            "residual_check": residual_check,
            "residual_names": residual_names,
            "seed": seed,
        }
        self._fallback_surrogates: Optional[SurrogateGenerator] = None

    # -- labels -----------------------------------------------------------------
    def action(self, label: str) -> str:
        """What the pipe does with an entity of `label`: "phi", "keep" or "drop"."""
        if label in self.cfg["phi_labels"]:
            return PHI
        keep = self.cfg["keep_labels"]
        if keep is None or label in keep:
            return KEEP
        return DROP

    def plan(self, doc: Doc) -> NotePlan:
        """Describe `doc` for the generator: its entities, their actions and its seed."""
        entities = []
        for ent in doc.ents:
            action = self.action(ent.label_)
            if action == DROP and self.cfg["strict_labels"]:
                raise ValueError(
                    f"Entity {ent.text!r} ({ent.start_char}-{ent.end_char}) has label "
                    f"{ent.label_!r}, which is neither in phi_labels nor in keep_labels "
                    f"(strict_labels = true). Doc starts: {doc.text[:60]!r}"
                )
            entities.append(EntitySpec(ent.start_char, ent.end_char, ent.label_, ent.text, action))
        meta = doc._.get(NOTE_META) or {}
        return NotePlan(
            text=doc.text,
            entities=entities,
            seed=note_seed(self.cfg["seed"], doc.text),
            note_type=meta.get("note_type"),
            token_pos=[(t.idx, t.idx + len(t), t.pos_) for t in doc] if doc.has_annotation("POS") else [],
        )

    # -- processing ---------------------------------------------------------------
    def __call__(self, doc: Doc) -> Doc:
        """Set the synthetic note of one Doc. RETURNS (Doc): The same Doc."""
        self._process([doc])
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 32) -> Iterator[Doc]:
        """Process Docs in batches, so generators can batch model calls.

        stream (Iterable[Doc]): The Docs.
        batch_size (int): Docs per generator call.
        YIELDS (Doc): The Docs, in order.
        """
        for batch in minibatch(stream, size=batch_size):
            self._process(batch)
            yield from batch

    def _process(self, docs: List[Doc]) -> None:
        plans = [self.plan(doc) for doc in docs]
        outputs = self.generator(plans)
        if len(outputs) != len(plans):
            raise ValueError(
                f"Generator {type(self.generator).__name__} returned {len(outputs)} "
                f"notes for {len(plans)} inputs."
            )
        for doc, plan, output in zip(docs, plans, outputs):
            residual = self.check_residual(plan, output)
            synthetic, alignment, report = self.assemble(plan, output)
            report["residual_phi"] = len(residual)
            if residual and self.cfg["residual_check"] == "drop":
                report["note_dropped"] = 1
                doc._.set(SYNTHETIC_DATA, None)
                for record in alignment:
                    record["target"], record["action"] = None, DROP
            else:
                doc._.set(SYNTHETIC_DATA, synthetic.to_bytes(exclude=["user_data", "tensor"]))
            doc._.set(SYNTHETIC_ALIGNMENT, alignment)
            doc._.set(SYNTHETIC_REPORT, report)

    def check_residual(self, plan: NotePlan, output: Synthesis) -> List[Match]:
        """Run the residual-PHI check on one note; replaces in `output` when configured.

        RETURNS (List[Match]): The identifier-shaped strings found outside the
            entities the pipe wrote (in the text before replacement).
        """
        mode = self.cfg["residual_check"]
        if mode == "off":
            return []
        own = source_phi(plan)
        if mode == "drop":
            return residual_matches(merge_plain(output.segments), names=self.cfg["residual_names"], own=own)
        surrogates_for = getattr(self.generator, "surrogates_for", None)
        if surrogates_for is None:
            # Generators without their own surrogate table: a surrogate generator, made on first need.
            if self._fallback_surrogates is None:
                self._fallback_surrogates = SurrogateGenerator()
            surrogates_for = self._fallback_surrogates.surrogates_for
        table = surrogates_for(plan)
        table.avoid(s.text for s in output.segments if s.label is not None)
        output.segments, found = scrub(
            output.segments, table.replace, names=self.cfg["residual_names"], own=own
        )
        return found

    def assemble(self, plan: NotePlan, output: Synthesis):
        """Build the synthetic Doc of one note from the generator's segments.

        Each segment is tokenized on its own, so entity boundaries are token
        boundaries and each entity's character span is exact.
        RETURNS (Tuple[Doc, List[Dict], Dict[str, int]]): The synthetic Doc, the
            alignment records and the report counters.
        """
        pieces: List[Doc] = []
        targets: Dict[int, List[Any]] = {}
        offset = 0
        for segment in output.segments:
            if not segment.text:
                continue
            piece = self.tokenizer(segment.text)
            if segment.label is not None:
                piece.ents = [piece.char_span(0, len(segment.text), label=segment.label)]
                if segment.source is not None:
                    targets[segment.source] = [offset, offset + len(segment.text), segment.label]
            pieces.append(piece)
            offset += len(segment.text)
        synthetic = Doc.from_docs(pieces, ensure_whitespace=False) if pieces else Doc(self.vocab, words=[])
        alignment = []
        report = {"phi_replaced": 0, "kept": 0, "dropped": 0}
        for i, ent in enumerate(plan.entities):
            target = targets.get(i)
            if target is None or ent.action == DROP:
                report["dropped"] += 1
                action = DROP
            else:
                action = ent.action
                report["phi_replaced" if action == PHI else "kept"] += 1
            alignment.append({"source": [ent.start, ent.end, ent.label], "target": target, "action": action})
        for key, value in output.counts.items():
            report[key] = report.get(key, 0) + value
        return synthetic, alignment, report

    @property
    def privacy(self) -> Optional[Dict[str, Any]]:
        """The generator's differential-privacy record (epsilon, delta, accountant, steps, sample
        rate), or None when its model was not trained with DP or it has no model."""
        return getattr(self.generator, "privacy", None)

    # -- training and serialization -------------------------------------------------
    def initialize(
        self, get_examples: Callable[[], Iterable[Example]], *, nlp: Optional[Language] = None
    ) -> None:
        """Initialize the generator (if it learns anything) from training examples."""
        init = getattr(self.generator, "initialize", None)
        if init is not None:
            init(get_examples, nlp)

    def to_bytes(self, *, exclude: Iterable[str] = SimpleFrozenList()) -> bytes:
        """Serialize the component's settings (generators with weights use to_disk)."""
        return srsly.msgpack_dumps({"cfg": self.cfg})

    def from_bytes(self, bytes_data: bytes, *, exclude: Iterable[str] = SimpleFrozenList()) -> "SynthNotes":
        """Load the settings written by `to_bytes`."""
        self.cfg.update(srsly.msgpack_loads(bytes_data)["cfg"])
        return self

    def to_disk(self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()) -> None:
        """Write the settings and, if it has any, the generator's state to a directory."""
        serializers = {"cfg": lambda p: srsly.write_json(p, self.cfg)}
        if hasattr(self.generator, "to_disk"):
            serializers["generator"] = lambda p: self.generator.to_disk(p)
        to_disk(path, serializers, exclude)

    def from_disk(
        self, path: Union[str, Path], *, exclude: Iterable[str] = SimpleFrozenList()
    ) -> "SynthNotes":
        """Load what `to_disk` wrote: settings first, then the generator's state."""
        path = Path(path)
        if not (path / "cfg").exists():
            raise ValueError(f"{path} is not a synth_notes directory: it has no 'cfg' file.")
        deserializers = {"cfg": lambda p: self.cfg.update(srsly.read_json(p))}
        if hasattr(self.generator, "from_disk"):
            deserializers["generator"] = lambda p: self.generator.from_disk(p)
        from_disk(path, deserializers, exclude)
        return self


def note_seed(seed: int, text: str) -> int:
    """A note's seed: a stable hash of the pipe seed and the note text."""
    digest = hashlib.sha256(f"{seed}\x00{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1
