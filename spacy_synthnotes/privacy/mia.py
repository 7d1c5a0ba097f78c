"""Membership inference: against a trained generator, and from the released synthetic text alone."""

import math
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics.pairwise import linear_kernel

from ..phi.strings import word_tokens
from .scoring import LossScorer
from .stats import attack_summary


def model_membership_inference(
    target: LossScorer,
    members: Sequence[str],
    nonmembers: Sequence[str],
    *,
    reference: Optional[LossScorer] = None,
    seed: int = 0,
) -> Dict:
    """Loss attack (score = -loss) and, with a reference model, the likelihood-ratio attack.

    The reference attack scores reference loss minus target loss (Carlini et
    al. 2022, offline): a note the target finds much easier than a model that
    never saw it is likely a member. Members are the notes the model was
    trained on, as it saw them (PHI-replaced); non-members are held-out notes.

    RETURNS (Dict): per attack, AUC and TPR at 0.1%/1% FPR with bootstrap
        intervals and the ROC curve; mean losses of both groups.
    """
    member_loss, other_loss = target.losses(members), target.losses(nonmembers)
    result = {
        "loss_attack": attack_summary(-member_loss, -other_loss, seed=seed),
        "mean_loss": {"members": float(member_loss.mean()), "nonmembers": float(other_loss.mean())},
    }
    if reference is not None:
        ref_member, ref_other = reference.losses(members), reference.losses(nonmembers)
        result["reference_attack"] = attack_summary(
            ref_member - member_loss, ref_other - other_loss, seed=seed
        )
    return result


class NgramModel:
    """A word n-gram language model with interpolated absolute discounting."""

    def __init__(self, texts: Sequence[str], order: int = 3, discount: float = 0.75):
        self.order, self.discount = order, discount
        self.counts: List[Counter] = [Counter() for _ in range(order)]
        self.contexts: List[Counter] = [Counter() for _ in range(order)]
        self.followers: List[Counter] = [Counter() for _ in range(order)]
        for text in texts:
            tokens = ["<s>"] * (order - 1) + [t.lower() for t in word_tokens(text)] + ["</s>"]
            for i in range(order - 1, len(tokens)):
                for n in range(order):
                    gram = tuple(tokens[i - n : i + 1])
                    if self.counts[n][gram] == 0:
                        self.followers[n][gram[:-1]] += 1
                    self.counts[n][gram] += 1
                    self.contexts[n][gram[:-1]] += 1
        self.vocab = len(self.counts[0]) + 1

    def prob(self, history: tuple, word: str) -> float:
        p = 1.0 / self.vocab
        for n in range(self.order):
            context = history[len(history) - n :] if n else ()
            total = self.contexts[n][context]
            if total == 0:
                continue
            count = self.counts[n][(*context, word)]
            p = max(count - self.discount, 0) / total + self.discount * self.followers[n][context] / total * p
        return p

    def log_prob(self, text: str) -> float:
        """Mean log-probability per word of `text`."""
        tokens = ["<s>"] * (self.order - 1) + [t.lower() for t in word_tokens(text)] + ["</s>"]
        logs = [
            math.log(self.prob(tuple(tokens[i - self.order + 1 : i]), tokens[i]))
            for i in range(self.order - 1, len(tokens))
        ]
        return sum(logs) / len(logs)


def synthetic_membership_inference(
    synthetic_texts: Sequence[str],
    members: Sequence[str],
    nonmembers: Sequence[str],
    *,
    order: int = 3,
    k: int = 5,
    seed: int = 0,
) -> Dict:
    """What an outsider holding only the released notes learns about membership (Meeus et al. 2025).

    Two scores per candidate: its mean log-probability under a word n-gram
    model fitted on the synthetic corpus, and its mean TF-IDF cosine similarity
    to its `k` nearest synthetic notes. Higher means "member".

    RETURNS (Dict): per score, AUC and TPR at low FPR with bootstrap intervals.
    """
    ngram = NgramModel(synthetic_texts, order=order)
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(synthetic_texts)
    synthetic = vectorizer.transform(synthetic_texts)

    def similarity(texts: Sequence[str]) -> np.ndarray:
        sims = linear_kernel(vectorizer.transform(texts), synthetic)
        top = np.sort(sims, axis=1)[:, -min(k, sims.shape[1]) :]
        return top.mean(axis=1)

    return {
        "ngram": attack_summary(
            [ngram.log_prob(t) for t in members], [ngram.log_prob(t) for t in nonmembers], seed=seed
        ),
        "similarity": attack_summary(similarity(members), similarity(nonmembers), seed=seed),
        "order": order,
        "k": k,
    }
