"""Entity contexts released with differential privacy: the words a note writes next to each kind of entity.

A NER tells a patient's name from a doctor's, or a record number from a dose,
by the words beside it ("Pt:", "Dr.", "MRN"). A model trained with DP-SGD on a
few hundred patients learns little of that, so `train-causal` can release it
separately (`[training.contexts]`): for each label, the text just before
(`left`) and just after (`right`) its mentions, up to `words` words, stopping
at the line end and at the next entity. Each unit (patient) counts once for
each distinct context it has, up to `per_label` of them per label and side
(drawn at random), so one unit touches at most K = 2 x labels x per_label
keys, each by 1. The counts get Gaussian noise of sd `noise_multiplier` x
sqrt(K), the L2 sensitivity, and only keys whose noisy count clears a threshold
are kept (Gaussian partition selection, Gopi et al. 2020): a key that one unit
alone has survives with probability at most delta / K, so all of a unit's such
keys with at most delta. The Gaussian part composes with DP-SGD in the model's
accountant; the threshold adds its delta. EntityConditioned.v2 writes a sampled
context beside the entities of the notes it generates (`insert_contexts`), each
side of a label as often as its released contexts were counted against all
units (x per_label): a label whose mentions mostly have other, unreleased
contexts gets a released one only that often, so the NER does not learn that
its entities always follow the same words. (The number of units is in the
privacy record. Counting against the units that mention each label instead
needs those counts released too, which costs noise, and read lower on the demo
corpus: F1 ratio 0.75 against 0.82.)

A context that reached the start (end) of its line begins (ends) with a line
break, so "Pt: " at the start of a line stays a header.

With `lines` > 0 the same release also counts whole-line templates
(`line_templates`): each unit once for each distinct template it has, up to
`lines` of them, so K grows by `lines`; the kept templates are in the file's
"lines" list.
"""

import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy
import srsly

from .base import Segment
from .line_templates import LineTemplate

CONTEXTS_FILE = "entity_contexts.json"
SIDES = ("left", "right")
Entity = Tuple[int, int, str]
Context = Tuple[str, str, str]  # (label, side, text)


def note_contexts(text: str, entities: Sequence[Entity], words: int) -> List[Context]:
    """The left and right context of every entity of a note.

    text (str): The note.
    entities (Sequence[Entity]): (start, end, label), sorted and non-overlapping.
    words (int): Most words on each side.
    RETURNS (List[Context]): (label, side, text) for each entity and side, in order.
    """
    out: List[Context] = []
    ordered = sorted(entities)
    for i, (start, end, label) in enumerate(ordered):
        line_start = text.rfind("\n", 0, start) + 1
        previous = ordered[i - 1][1] if i else 0
        low = max(line_start, previous)
        before = list(re.finditer(r"\S+", text[low:start]))
        if len(before) > words:
            left = text[low + before[-words].start() : start]
        else:
            left = ("\n" if low == line_start else "") + text[low:start]
        line_end = text.find("\n", end)
        line_end = len(text) if line_end == -1 else line_end
        following = ordered[i + 1][0] if i + 1 < len(ordered) else len(text)
        high = min(line_end, following)
        after = list(re.finditer(r"\S+", text[end:high]))
        if len(after) > words:
            right = text[end : end + after[words - 1].end()]
        else:
            right = text[end:high] + ("\n" if high == line_end and high < len(text) else "")
        out += [(label, "left", left), (label, "right", right)]
    return out


@dataclass
class ContextRelease:
    """The released contexts and how they were released.

    table (Dict[str, Dict[str, List[Tuple[str, float]]]]): label -> side -> (text, noisy count).
    noise_multiplier (float): Noise sd over the L2 sensitivity.
    sigma (float): Noise sd.
    threshold (float): Smallest noisy count kept.
    delta (float): The threshold's delta.
    keys_per_unit (int): Most keys one unit contributes to (2 x labels x per_label + lines).
    words (int): Most words per context.
    per_label (int): Most distinct contexts a unit counted for per label and side.
    units (int): The number of units (stated in the privacy record too).
    lines (int): Most distinct line templates a unit counted for (0: none).
    templates (List[Tuple[List[str], List[str], float]]): The kept line templates: labels, pieces,
        noisy count.
    sentences (bool): The templates are of sentences, not whole lines (`line_templates.sentence_cuts`).
    """

    table: Dict[str, Dict[str, List[Tuple[str, float]]]]
    noise_multiplier: float
    sigma: float
    threshold: float
    delta: float
    keys_per_unit: int
    words: int
    per_label: int
    units: int
    lines: int = 0
    templates: List[Tuple[List[str], List[str], float]] = field(default_factory=list)
    sentences: bool = False

    def record(self) -> Dict[str, Union[int, float]]:
        """What the model's privacy record says about the release."""
        return {
            "noise_multiplier": self.noise_multiplier,
            "sigma": self.sigma,
            "threshold": self.threshold,
            "delta": self.delta,
            "keys_per_unit": self.keys_per_unit,
            "words": self.words,
            "per_label": self.per_label,
            "units": self.units,
            "released": sum(len(v) for sides in self.table.values() for v in sides.values()),
            "lines": self.lines,
            "lines_released": len(self.templates),
            "sentences": self.sentences,
        }

    def to_disk(self, path: Union[str, Path]) -> None:
        srsly.write_json(path, {"record": self.record(), "table": self.table, "lines": self.templates})


def release_contexts(
    units: Sequence[Sequence[Context]],
    labels: Sequence[str],
    *,
    noise_multiplier: float,
    delta: float,
    words: int,
    per_label: int = 1,
    lines: int = 0,
    line_units: Sequence[Sequence[LineTemplate]] = (),
    sentences: bool = False,
    seed: int = 0,
) -> ContextRelease:
    """Release per-label context counts with Gaussian noise and a threshold (see module doc).

    units (Sequence[Sequence[Context]]): The contexts of each unit's notes.
    labels (Sequence[str]): The label set: sets the number of keys a unit may touch.
    noise_multiplier (float): Noise sd over the L2 sensitivity sqrt(K), K = 2 x len(labels) x per_label.
    delta (float): Probability bound of releasing any key that only one unit has.
    words (int): The `words` the contexts were cut with (kept in the record); 0: no contexts, only
        line templates.
    per_label (int): Most distinct contexts a unit counts for per label and side.
    lines (int): Most distinct line templates a unit counts for (0: no templates).
    line_units (Sequence[Sequence[LineTemplate]]): The line templates of each unit's notes, in the
        order of `units` (see `line_templates.note_lines`); needed when `lines` > 0.
    sentences (bool): The templates were cut by sentence (kept in the record, for the generator).
    seed (int): Seeds the choice of each unit's contexts and templates, and the noise.
    RETURNS (ContextRelease): The kept keys and the parameters.
    """
    if words == 0 and any(units):
        raise ValueError("words = 0 releases no contexts, but contexts were given")
    if noise_multiplier <= 0 or not 0 < delta < 1 or per_label < 1 or lines < 0 or words < 0:
        raise ValueError(
            "noise_multiplier must be > 0, delta in (0, 1), per_label >= 1, words and lines >= 0, got "
            f"{noise_multiplier}, {delta}, {per_label}, {words}, {lines}"
        )
    if not words and not lines:
        raise ValueError("Nothing to release: words and lines are both 0")
    if lines and len(line_units) != len(units):
        raise ValueError(f"lines = {lines} needs the line templates of all {len(units)} units")
    known = set(labels)
    keys_per_unit = (2 * len(known) * per_label if words else 0) + lines
    chooser = random.Random(seed)
    counts: Counter = Counter()
    for contexts in units:
        options: Dict[Tuple[str, str], set] = {}
        for label, side, text in contexts:
            if label not in known:
                raise ValueError(f"Context of label {label!r}, which is not in the label set {sorted(known)}")
            options.setdefault((label, side), set()).add(text)
        for (label, side), texts in sorted(options.items()):
            ordered = sorted(texts)
            for text in ordered if len(ordered) <= per_label else chooser.sample(ordered, per_label):
                counts[(label, side, text)] += 1
    line_counts: Counter = Counter()
    for templates in line_units if lines else ():
        ordered = sorted(set(templates))
        line_counts.update(ordered if len(ordered) <= lines else chooser.sample(ordered, lines))
    from scipy.stats import norm  # here: scipy.stats takes a second to import, and only a release needs it

    sigma = noise_multiplier * keys_per_unit**0.5
    threshold = 1 + sigma * float(norm.isf(delta / keys_per_unit))
    noise = numpy.random.default_rng(seed)
    table: Dict[str, Dict[str, List[Tuple[str, float]]]] = {}
    for key in sorted(counts):
        noisy = counts[key] + float(noise.normal(0.0, sigma))
        if noisy >= threshold:
            label, side, text = key
            table.setdefault(label, {s: [] for s in SIDES})[side].append((text, round(noisy, 2)))
    templates = []
    for labels_, pieces in sorted(line_counts):
        noisy = line_counts[(labels_, pieces)] + float(noise.normal(0.0, sigma))
        if noisy >= threshold:
            templates.append((list(labels_), list(pieces), round(noisy, 2)))
    return ContextRelease(
        table,
        noise_multiplier,
        sigma,
        threshold,
        delta,
        keys_per_unit,
        words,
        per_label,
        len(units),
        lines,
        templates,
        sentences,
    )


def read_contexts(path: Union[str, Path]) -> Dict[str, Any]:
    """A released context file ("table" and "record"); a clear error when it is malformed."""
    try:
        data = srsly.read_json(path)
        table, record = data["table"], data["record"]
        if int(record["per_label"]) < 1 or int(record["units"]) < 1:
            raise ValueError(f"bad record {record!r}")
        if not isinstance(record.get("sentences", False), bool):
            raise ValueError(f"bad record {record!r}: sentences must be true or false")
        for label, sides in table.items():
            for side in SIDES:
                for text, count in sides[side]:
                    if not isinstance(text, str) or float(count) <= 0:
                        raise ValueError(f"bad entry {[text, count]!r} of {label}/{side}")
        for labels, pieces, count in data.get("lines", []):
            if (
                len(pieces) != len(labels) + 1
                or not all(isinstance(p, str) for p in pieces)
                or float(count) <= 0
            ):
                raise ValueError(f"bad line template {[labels, pieces, count]!r}")
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(
            f"{path} is not a readable entity-context file ({type(err).__name__}: {err}): restore it from "
            "the train-causal output"
        ) from None
    return data


def _join(out: List[Segment], text: str) -> None:
    """Append text at a junction with an inserted context: whitespace is not doubled (the tokenizer
    would make a token of the extra space), a line start drops it, and two words never touch."""
    before = out[-1].text if out else "\n"  # the note's start is a line start
    if before.endswith("\n"):
        text = text.lstrip()
    elif before[-1:].isspace():
        text = text.lstrip(" \t")
    elif text and not text[0].isspace():
        text = " " + text
    if text:
        out.append(Segment(text))


def _overlap_dropped(before: str, left: str) -> str:
    """`left` without the words it repeats from the end of `before` ("   MRN: " after a name, then
    "MRN: "; ". Lives" after a profession, then "Lives in ")."""
    words = list(re.finditer(r"\S+", left))
    tail = before.split()
    for k in range(min(len(words), len(tail)), 0, -1):
        if tail[-k:] == [w.group() for w in words[:k]]:
            return left[words[k - 1].end() :]
    return left


def insert_contexts(
    segments: Sequence[Segment],
    contexts: Dict[str, Any],
    rng: random.Random,
) -> Tuple[List[Segment], int]:
    """Write a sampled released context before and after the entity segments (see module doc).

    segments (Sequence[Segment]): A generated note.
    contexts (Dict[str, Any]): The released contexts, as `read_contexts` returns them.
    rng (random.Random): Draws the contexts, weighted by their noisy counts.
    RETURNS (Tuple[List[Segment], int]): The note with the contexts, and how many were written.
        A context touches its entity as in the notes it was counted in; where it meets the generated
        text, whitespace is not doubled and words do not touch (`_join`), and two entities are kept
        apart by a space. The generated text is otherwise kept as written.
    """
    out: List[Segment] = []
    written, after_context = 0, False

    table, record = contexts["table"], contexts["record"]
    counted = int(record["units"]) * int(record["per_label"])

    def draw(label: str, side: str) -> Optional[str]:
        options = table.get(label, {}).get(side) or []
        weights = [float(c) for _, c in options]
        if not options or rng.random() >= sum(weights) / counted:
            return None
        return rng.choices([t for t, _ in options], weights=weights)[0]

    for segment in segments:
        if segment.label is None:
            if after_context:
                _join(out, segment.text)
            elif segment.text:
                out.append(segment)
            after_context = False
            continue
        left = draw(segment.label, "left")
        if left is not None and out:
            left = _overlap_dropped(out[-1].text, left)
        if left is not None:
            written += 1
            _join(out, left)
        if not left and out and not out[-1].text[-1:].isspace() and not segment.text[:1].isspace():
            out.append(Segment(" "))  # two entities (or an entity and a word) never touch
        out.append(segment)
        right = draw(segment.label, "right")
        after_context = right is not None
        if right is not None:
            written += 1
            if right:
                out.append(Segment(right))
    return out, written
