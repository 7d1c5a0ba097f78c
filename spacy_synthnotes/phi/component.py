"""The `synth_phi` component: PHI entities from shape patterns, name heuristics and the NER before it."""

from typing import Iterable, List, Optional, Sequence, Set, Tuple

from spacy.language import Language
from spacy.tokens import Doc, Span

from ..labels import DEFAULT_PHI_LABELS
from .patterns import find_names, find_shapes

# Precedence of overlapping candidates, highest first (see `SynthPhi`).
SHAPE, NER_PHI, NAME_RULE, NER_OTHER = 0, 1, 2, 3


@Language.factory(
    "synth_phi",
    assigns=["doc.ents"],
    default_config={"shapes": True, "names": True, "phi_labels": None},
)
def make_synth_phi(
    nlp: Language, name: str, shapes: bool, names: bool, phi_labels: Optional[List[str]]
) -> "SynthPhi":
    """Create a `synth_phi` component (see `SynthPhi`)."""
    return SynthPhi(name, shapes=shapes, names=names, phi_labels=phi_labels)


class SynthPhi:
    """Mark PHI as entities, merging three sources with a fixed precedence.

    Place it after a statistical NER (or first, to use the rules alone) and
    before `synth_notes`. Candidates, highest precedence first:

    1. shape patterns: dates, phone/fax, email, URL, IP, SSN, MRN/account/ID
       numbers, ZIP codes, street addresses, ages over 89;
    2. PHI entities the NER before it predicted;
    3. name heuristics: titles ("Mr. X", "Dr. X"), credentials ("X Y, MD"),
       signatures, header fields ("Patient: X"), relatives ("daughter Mary"),
       introductions ("my name is X", "last name: X"), facility names
       ("... Hospital") and country names;
    4. the NER's other (clinical) entities.

    Overlapping candidates are resolved by precedence, then by length; a clinical
    entity that overlaps a PHI candidate is dropped (privacy first). Rule spans
    that do not fall on token boundaries are expanded to the tokens around them.

    shapes (bool): Use the shape patterns.
    names (bool): Use the name heuristics.
    phi_labels (Optional[Sequence[str]]): Which NER labels are PHI; None means
        the default PHI labels of `synth_notes`.
    """

    def __init__(
        self,
        name: str = "synth_phi",
        *,
        shapes: bool = True,
        names: bool = True,
        phi_labels: Optional[Sequence[str]] = None,
    ):
        self.name = name
        self.shapes = shapes
        self.names = names
        self.phi_labels = set(DEFAULT_PHI_LABELS if phi_labels is None else phi_labels)

    def __call__(self, doc: Doc) -> Doc:
        candidates: List[Tuple[int, Span]] = []
        for ent in doc.ents:
            candidates.append((NER_PHI if ent.label_ in self.phi_labels else NER_OTHER, ent))
        if self.shapes:
            candidates += self._spans(doc, find_shapes(doc.text), SHAPE)
        if self.names:
            candidates += self._spans(doc, find_names(doc.text), NAME_RULE)
        doc.ents = resolve(candidates)
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    @staticmethod
    def _spans(doc: Doc, matches, priority: int) -> List[Tuple[int, Span]]:
        out = []
        for match in matches:
            span = doc.char_span(match.start, match.end, label=match.label, alignment_mode="expand")
            if span is not None and len(span):
                out.append((priority, span))
        return out


def resolve(candidates: List[Tuple[int, Span]]) -> List[Span]:
    """Non-overlapping spans: by precedence, then longest, then earliest."""
    ordered = sorted(candidates, key=lambda c: (c[0], -len(c[1]), c[1].start))
    taken: Set[int] = set()
    kept = []
    for _, span in ordered:
        tokens = set(range(span.start, span.end))
        if not tokens & taken:
            taken |= tokens
            kept.append(span)
    return sorted(kept, key=lambda s: s.start)
