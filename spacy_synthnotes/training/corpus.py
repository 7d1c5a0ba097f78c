"""Training text for the generators: PHI-replaced notes, so real PHI never enters the weights."""

from dataclasses import dataclass
from typing import Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Doc

from ..generators.base import NotePlan
from ..generators.surrogate import SurrogateGenerator
from ..labels import DEFAULT_PHI_LABELS
from ..pipe import note_seed

PHI_MODES = ("surrogate", "placeholder", "refuse")


@dataclass
class TrainingNote:
    """A note ready for training: PHI replaced, entity spans (start, end, label) on the new text."""

    text: str
    entities: List[Tuple[int, int, str]]
    note_type: Optional[str] = None
    unit: Optional[str] = None  # the patient id, where the note's meta has one
    part: Optional[Tuple[int, int]] = None  # (k, n): part k of a long note cut into n parts


def replace_phi(
    docs: Iterable[Doc], mode: str = "surrogate", phi_labels: Optional[Sequence[str]] = None, seed: int = 0
) -> List[TrainingNote]:
    """Return the notes with their PHI replaced, or refuse a corpus that holds PHI.

    docs (Iterable[Doc]): Annotated notes.
    mode (str): "surrogate" (Faker surrogates, as the surrogate generator writes
        them), "placeholder" ("[PATIENT]", "[DATE]"...) or "refuse" (raise if
        any PHI entity is present: for corpora whose PHI was replaced upstream).
    phi_labels (Optional[Sequence[str]]): The PHI labels (default: the pipe's).
    RETURNS (List[TrainingNote]): The notes, in order.
    """
    if mode not in PHI_MODES:
        raise ValueError(f"phi replacement must be one of {PHI_MODES}, got {mode!r}")
    labels = set(DEFAULT_PHI_LABELS if phi_labels is None else phi_labels)
    surrogates = SurrogateGenerator()
    notes = []
    for index, doc in enumerate(docs):
        phi = [e for e in doc.ents if e.label_ in labels]
        meta = doc._.get("note_meta") or {}
        if phi and mode == "refuse":
            found = ", ".join(sorted({e.label_ for e in phi}))
            raise ValueError(
                f"Note {meta.get('id', index)} has PHI entities ({found}): "
                'a generator is trained on PHI-replaced text only. Set [phi] replace = "surrogate" or '
                '"placeholder", or replace the PHI before training.'
            )
        plan = NotePlan(doc.text, [], note_seed(seed, doc.text))
        table = surrogates.surrogates_for(plan) if mode == "surrogate" else None
        if table is not None:
            table.avoid(e.text for e in phi)
            table.observe_names([e.text for e in phi if table.category(e.label_) == "name"])
        text = doc.text  # Doc.text joins the tokens on every access
        parts, entities, cursor, length = [], [], 0, 0
        for ent in doc.ents:
            between = text[cursor : ent.start_char]
            parts.append(between)
            length += len(between)
            if ent.label_ in labels:
                value = table.replace(ent.text, ent.label_) if table is not None else f"[{ent.label_}]"
            else:
                value = ent.text
            parts.append(value)
            entities.append((length, length + len(value), ent.label_))
            length += len(value)
            cursor = ent.end_char
        parts.append(text[cursor:])
        notes.append(TrainingNote("".join(parts), entities, meta.get("note_type"), meta.get("patient_id")))
    return notes
