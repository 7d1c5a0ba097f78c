"""Distance to closest record: are synthetic notes nearer the training notes than unseen real notes are?"""

from typing import Dict, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from .stats import mean_ci, proportion


def nearest_similarity(queries, references) -> np.ndarray:
    """Cosine similarity of each query row to its nearest reference row (TF-IDF rows are L2-normalized)."""
    return np.asarray(linear_kernel(queries, references).max(axis=1)).ravel()


def distance_to_closest_record(
    synthetic_texts: Sequence[str],
    train_texts: Sequence[str],
    heldout_texts: Sequence[str],
    *,
    seed: int = 0,
    quantile: float = 0.95,
) -> Dict:
    """Similarity of each synthetic note to its nearest training note, against two real baselines.

    TF-IDF over word 1-2-grams fitted on the real notes, cosine similarity.
    (1) "closer_to_train": the share of synthetic notes whose nearest real note
    (training and held-out pooled) is a training note. Notes drawn from the same
    distribution as the real ones, copying none, land there at the training
    set's share of the pool ("expected_closer_to_train"); rewrites of training
    notes land there nearly always. (2) "near_copies": the share of synthetic
    notes more similar to a training note than `quantile` of held-out real notes
    are to their nearest training note: about 1 - quantile for synthetic notes,
    about 1 for anonymized copies (same text, other names and dates).

    RETURNS (Dict): the distributions, the two shares with Wilson intervals
        and their expected values.
    """
    if not synthetic_texts or not train_texts or not heldout_texts:
        raise ValueError("DCR needs synthetic, training and held-out notes")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    vectorizer.fit(list(train_texts) + list(heldout_texts))
    synthetic = vectorizer.transform(synthetic_texts)
    train = vectorizer.transform(train_texts)
    to_train = nearest_similarity(synthetic, train)
    to_heldout = nearest_similarity(synthetic, vectorizer.transform(heldout_texts))
    heldout_to_train = nearest_similarity(vectorizer.transform(heldout_texts), train)
    cutoff = float(np.quantile(heldout_to_train, quantile))
    return {
        "similarity_to_train": mean_ci(to_train, seed=seed),
        "similarity_to_heldout": mean_ci(to_heldout, seed=seed),
        "heldout_similarity_to_train": mean_ci(heldout_to_train, seed=seed),
        "closer_to_train": proportion(int((to_train > to_heldout).sum()), len(to_train)),
        "expected_closer_to_train": len(train_texts) / (len(train_texts) + len(heldout_texts)),
        "near_copies": proportion(int((to_train > cutoff).sum()), len(to_train)),
        "expected_near_copies": 1 - quantile,
        "near_copy_cutoff": cutoff,
        "distributions": {
            "synthetic_to_train": to_train.round(4).tolist(),
            "synthetic_to_heldout": to_heldout.round(4).tolist(),
            "heldout_to_train": heldout_to_train.round(4).tolist(),
        },
    }
