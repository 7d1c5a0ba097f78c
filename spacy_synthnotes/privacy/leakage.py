"""PHI leakage: which real PHI strings of the training notes reappear in the synthetic notes."""

from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Set, Tuple

import numpy as np
from rapidfuzz import fuzz, process
from spacy.tokens import Doc

from ..labels import DEFAULT_PHI_LABELS
from ..phi.strings import MIN_CHARS, doc_phi_strings, grams
from .stats import mean_ci, proportion


def phi_leakage(
    train_docs: Sequence[Doc],
    synthetic_texts: Sequence[str],
    *,
    sources: Optional[Sequence[Optional[int]]] = None,
    phi_labels: Optional[Sequence[str]] = None,
    fuzzy_threshold: float = 90.0,
    min_chars: int = MIN_CHARS,
    min_fuzzy_chars: int = 6,
    heldout_texts: Optional[Sequence[str]] = None,
    n_examples: int = 10,
    seed: int = 0,
) -> Dict:
    """The share of the training notes' distinct PHI strings found in the synthetic notes.

    Exact: the string occurs as whole words (case-folded). Fuzzy: for strings
    with letters and at least `min_fuzzy_chars` characters, a run of as many
    words in a synthetic note has rapidfuzz `ratio` >= `fuzzy_threshold`
    (0-100), which catches "Jonh Smyth" for "John Smith"; numbers are matched
    exactly only (a date one digit off is another date).
    Chance baseline: with held-out real notes, the mean number of distinct
    training PHI strings found per synthetic note is compared with the same
    count per held-out note (common names and years occur in any corpus).
    Linked (when `sources[j]` is the index of the training note that synthetic
    note j was made from): the source note's own PHI strings found in it; a
    generator that replaces PHI should score 0 there.

    RETURNS (Dict): rates with 95% intervals, per label, and examples.
    """
    labels = set(DEFAULT_PHI_LABELS if phi_labels is None else phi_labels)
    per_note = [doc_phi_strings(doc, labels, min_chars) for doc in train_docs]
    strings: Dict[str, Tuple[str, str]] = {}
    for found in per_note:
        for string, written in found.items():
            strings.setdefault(string, written)
    max_n = max((len(s.split()) for s in strings), default=1)
    synthetic_grams = [grams(t, max_n) for t in synthetic_texts]
    hits = [g.intersection(strings) for g in synthetic_grams]
    exact: Dict[str, int] = {}
    for j, found in enumerate(hits):
        for string in found:
            exact.setdefault(string, j)
    fuzzy = dict(exact)
    fuzzy.update(
        fuzzy_matches(
            [s for s in strings if s not in exact], synthetic_grams, min_fuzzy_chars, fuzzy_threshold
        )
    )
    per_label: Dict[str, Dict[str, int]] = defaultdict(lambda: {"n": 0, "exact": 0, "fuzzy": 0})
    for string, (label, _) in strings.items():
        per_label[label]["n"] += 1
        per_label[label]["exact"] += string in exact
        per_label[label]["fuzzy"] += string in fuzzy
    result: Dict = {
        "n_phi_strings": len(strings),
        "exact": proportion(len(exact), len(strings)),
        "fuzzy": proportion(len(fuzzy), len(strings)),
        "fuzzy_threshold": fuzzy_threshold,
        "per_label": {
            label: {"exact": proportion(c["exact"], c["n"]), "fuzzy": proportion(c["fuzzy"], c["n"])}
            for label, c in sorted(per_label.items())
        },
        "examples": [
            {
                "phi": strings[s][1],
                "label": strings[s][0],
                "synthetic_note": i,
                "match": "exact" if s in exact else "fuzzy",
            }
            for s, i in list(fuzzy.items())[:n_examples]
        ],
    }
    if heldout_texts is not None:
        # Own-source strings are counted by the linked measure, not here.
        own = [per_note[s] if s is not None else {} for s in (sources or [None] * len(hits))]
        per_synthetic = [len(found.difference(mine)) for found, mine in zip(hits, own)]
        per_heldout = [len(grams(t, max_n).intersection(strings)) for t in heldout_texts]
        result["per_note"] = {
            "synthetic": mean_ci(per_synthetic, seed=seed),
            "heldout_baseline": mean_ci(per_heldout, seed=seed),
        }
    if sources is not None:
        result["linked"] = linked_leakage(per_note, hits, sources, n_examples)
    return result


def fuzzy_matches(
    strings: List[str], synthetic_grams: List[Set[str]], min_chars: int, threshold: float
) -> Dict[str, int]:
    """Strings (with letters, long enough) within `threshold` ratio of a same-length run in a note."""
    wanted = [s for s in strings if len(s) >= min_chars and any(c.isalpha() for c in s)]
    found: Dict[str, int] = {}
    by_length: Dict[int, List[str]] = defaultdict(list)
    for s in wanted:
        by_length[len(s.split())].append(s)
    for n, queries in by_length.items():
        owner: Dict[str, int] = {}
        for j, note in enumerate(synthetic_grams):
            for gram in note:
                if len(gram.split()) == n and len(gram) >= min_chars:
                    owner.setdefault(gram, j)
        choices = list(owner)
        if not choices:
            continue
        scores = process.cdist(queries, choices, scorer=fuzz.ratio, score_cutoff=threshold, workers=-1)
        for row, query in zip(scores, queries):
            if row.max() > 0:
                found[query] = owner[choices[int(np.argmax(row))]]
    return found


def linked_leakage(
    per_note: List[Dict[str, Tuple[str, str]]],
    hits: List[Set[str]],
    sources: Sequence[Optional[int]],
    n_examples: int,
) -> Dict:
    """Each synthetic note against the PHI strings of the note it was made from."""
    total = leaked = notes_with_leak = notes = 0
    examples = []
    for j, source in enumerate(sources):
        if source is None:
            continue
        own = per_note[source]
        found = sorted(hits[j].intersection(own))
        notes += 1
        total += len(own)
        leaked += len(found)
        notes_with_leak += bool(found)
        examples += [
            {"phi": own[s][1], "label": own[s][0], "synthetic_note": j, "source_note": source} for s in found
        ]
    return {
        "phi": proportion(leaked, total),
        "notes_with_leak": proportion(notes_with_leak, notes),
        "examples": examples[:n_examples],
    }
