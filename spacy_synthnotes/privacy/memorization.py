"""Memorization: verbatim n-grams, longest common token run and MinHash near-duplicates against training."""

from typing import Dict, List, Optional, Sequence

from datasketch import MinHash, MinHashLSH

from ..phi.strings import word_tokens
from .stats import mean_ci, proportion
from .text import SuffixAutomaton


def shingles(tokens: Sequence[str], size: int) -> set:
    return {" ".join(tokens[i : i + size]).casefold() for i in range(max(1, len(tokens) - size + 1))}


def minhash(tokens: Sequence[str], size: int, num_perm: int, seed: int) -> MinHash:
    signature = MinHash(num_perm=num_perm, seed=seed)
    for shingle in shingles(tokens, size):
        signature.update(shingle.encode("utf8"))
    return signature


def near_duplicates(
    synthetic: List[List[str]],
    train: List[List[str]],
    threshold: float = 0.8,
    shingle_size: int = 5,
    num_perm: int = 128,
    seed: int = 0,
) -> List[bool]:
    """Per synthetic note: does a training note have estimated Jaccard >= threshold (word 5-shingles)?"""
    index = MinHashLSH(threshold=threshold, num_perm=num_perm)
    for i, tokens in enumerate(train):
        index.insert(str(i), minhash(tokens, shingle_size, num_perm, seed))
    flags = []
    for tokens in synthetic:
        signature = minhash(tokens, shingle_size, num_perm, seed)
        candidates = index.query(signature)
        # LSH returns candidates; keep those whose estimated Jaccard passes the threshold.
        flags.append(
            any(
                signature.jaccard(minhash(train[int(c)], shingle_size, num_perm, seed)) >= threshold
                for c in candidates
            )
        )
    return flags


def memorization(
    synthetic_texts: Sequence[str],
    train_texts: Sequence[str],
    *,
    ns: Sequence[int] = (8, 13, 20),
    near_duplicate_threshold: float = 0.5,
    heldout_texts: Optional[Sequence[str]] = None,
    seed: int = 0,
) -> Dict:
    """Verbatim overlap of the synthetic notes with the training notes.

    For each n: the share of synthetic word n-grams that occur verbatim in a
    training note (pooled), and the share of synthetic notes with at least one.
    Per note: the longest run of words copied from one training note. And the
    share of synthetic notes that are MinHash near-duplicates of a training note
    (estimated Jaccard of word 5-shingles >= `near_duplicate_threshold`).
    Notes of one hospital share templates, so the same figures for held-out
    real notes ("heldout_baseline") say how much overlap needs no memorization.

    RETURNS (Dict): the figures, with Wilson or bootstrap 95% intervals.
    """
    train = [word_tokens(t) for t in train_texts]
    automaton = SuffixAutomaton(train)
    result = overlap(
        automaton, train, [word_tokens(t) for t in synthetic_texts], ns, near_duplicate_threshold, seed
    )
    if heldout_texts is not None:
        baseline = overlap(
            automaton, train, [word_tokens(t) for t in heldout_texts], ns, near_duplicate_threshold, seed
        )
        baseline["longest_common_run"].pop("per_note")
        result["heldout_baseline"] = baseline
    return result


def overlap(
    automaton: SuffixAutomaton,
    train: List[List[str]],
    synthetic: List[List[str]],
    ns: Sequence[int],
    near_duplicate_threshold: float,
    seed: int,
) -> Dict:
    """The memorization figures of tokenized notes against the indexed training notes."""
    runs = [automaton.match_lengths(tokens) for tokens in synthetic]
    result: Dict = {"ngrams": {}}
    for n in ns:
        found = total = 0
        notes_with = 0
        for tokens, lengths in zip(synthetic, runs):
            count = max(0, len(tokens) - n + 1)
            hits = sum(1 for i in range(n - 1, len(tokens)) if lengths[i] >= n)
            found, total, notes_with = found + hits, total + count, notes_with + (hits > 0)
        result["ngrams"][str(n)] = {
            "verbatim": proportion(found, total),
            "notes_with_verbatim": proportion(notes_with, len(synthetic)),
        }
    longest = [max(lengths, default=0) for lengths in runs]
    result["longest_common_run"] = {
        "mean": mean_ci(longest, seed=seed),
        "max": max(longest, default=0),
        "per_note": longest,
        "relative_mean": mean_ci([r / max(1, len(t)) for r, t in zip(longest, synthetic)], seed=seed),
    }
    duplicates = near_duplicates(synthetic, train, threshold=near_duplicate_threshold, seed=seed)
    result["near_duplicates"] = {
        "rate": proportion(sum(duplicates), len(duplicates)),
        "threshold": near_duplicate_threshold,
    }
    return result
