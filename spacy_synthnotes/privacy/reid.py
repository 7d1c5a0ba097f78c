"""Re-identification risk: does the PHI detectable in a synthetic note single out one training note?

The formula (Belkadi et al. report such a count without publishing theirs):
for a synthetic note s, let D(s) be the (category, value) pairs a PHI detector
finds in it, and for a training note t let G(t) be its gold PHI pairs; values
are case-folded and whitespace-normalized, dates are compared as written.
s *links to* t when D(s) and G(t) share a direct identifier (a full name of two
or more words, an ID, a phone number, an e-mail, a URL, an IP address, a street
address, a user name), or share at least `min_quasi` quasi-identifiers (age,
date, city, state, ZIP, country, other location, profession, facility,
organization, and single-word names: "Henry" alone names many people). s
*re-identifies* when it links to exactly one training note (a combination
shared by several notes is k-anonymous with k >= 2 and singles out no one).

    risk = |{s : |{t : s links to t}| = 1}| / |synthetic notes|

Quasi-identifier combinations also coincide by chance, so the same count over
held-out real notes (which no training note produced) is the chance baseline.
With `sources` (the training note each synthetic note was made from), the
share of re-identifications that hit the note's own source is also reported.
"""

from collections import defaultdict
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc

from .. import labels as L
from ..labels import DEFAULT_PHI_LABELS, PHI_CATEGORIES, surrogate_category
from ..phi.patterns import find_identifiers
from .stats import proportion

DIRECT = {L.NAME, L.ID, L.PHONE, L.EMAIL, L.URL, L.IP, L.STREET, L.USERNAME}
QUASI = {
    L.AGE,
    L.DATE,
    L.CITY,
    L.STATE,
    L.ZIP,
    L.COUNTRY,
    L.LOCATION,
    L.PROFESSION,
    L.FACILITY,
    L.ORGANIZATION,
}

Pair = Tuple[str, str]  # (surrogate category, normalized value)
Detector = Callable[[str], List[Tuple[str, str]]]  # text -> [(label, string)]


def pattern_detector(text: str) -> List[Tuple[str, str]]:
    """The project's shape patterns and name heuristics (no model)."""
    return [(m.label, text[m.start : m.end]) for m in find_identifiers(text)]


def is_direct(pair: Pair) -> bool:
    category, value = pair
    return category in DIRECT and (category != L.NAME or len(value.split()) >= 2)


def pairs(found: Iterable[Tuple[str, str]]) -> Set[Pair]:
    out = set()
    for label, value in found:
        if label.upper() in PHI_CATEGORIES:
            out.add((surrogate_category(label), " ".join(value.split()).casefold()))
    return out


def reidentification_risk(
    train_docs: Sequence[Doc],
    synthetic_texts: Sequence[str],
    *,
    detector: Detector = pattern_detector,
    phi_labels: Optional[Sequence[str]] = None,
    min_quasi: int = 2,
    sources: Optional[Sequence[Optional[int]]] = None,
    heldout_texts: Optional[Sequence[str]] = None,
    n_examples: int = 10,
) -> Dict:
    """The share of synthetic notes whose detected PHI links to exactly one training note (see module doc)."""
    labels = set(DEFAULT_PHI_LABELS if phi_labels is None else phi_labels)
    index: Dict[Pair, Set[int]] = defaultdict(set)
    for t, doc in enumerate(train_docs):
        for pair in pairs((e.label_, e.text) for e in doc.ents if e.label_ in labels):
            index[pair].add(t)
    links = [unique_link(index, pairs(detector(text)), min_quasi) for text in synthetic_texts]
    hits = [(s, link) for s, link in enumerate(links) if link is not None]
    result = {
        "risk": proportion(len(hits), len(synthetic_texts)),
        "min_quasi": min_quasi,
        "examples": [
            {"synthetic_note": s, "training_note": t, "shared": sorted(shared)}
            for s, (t, shared) in hits[:n_examples]
        ],
    }
    if heldout_texts is not None:
        chance = [unique_link(index, pairs(detector(text)), min_quasi) for text in heldout_texts]
        result["heldout_baseline"] = proportion(sum(c is not None for c in chance), len(heldout_texts))
    if sources is not None:
        result["own_source"] = proportion(sum(sources[s] == t for s, (t, _) in hits), len(hits))
    return result


def unique_link(
    index: Dict[Pair, Set[int]], found: Set[Pair], min_quasi: int
) -> Optional[Tuple[int, List[Pair]]]:
    """The one training note the pairs link to, with the shared pairs; None for no link or several."""
    direct: Dict[int, List[Pair]] = defaultdict(list)
    quasi: Dict[int, List[Pair]] = defaultdict(list)
    for pair in found:
        kind = direct if is_direct(pair) else quasi if pair[0] in QUASI | {L.NAME} else None
        if kind is not None:
            for t in index.get(pair, ()):
                kind[t].append(pair)
    linked = set(direct) | {t for t, shared in quasi.items() if len(shared) >= min_quasi}
    if len(linked) != 1:
        return None
    (t,) = linked
    return t, direct[t] + quasi[t]
