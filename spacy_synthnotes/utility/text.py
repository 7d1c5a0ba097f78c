"""Text-level utility measures: entity preservation, ROUGE fidelity, distinct-n and self-BLEU diversity."""

import math
import random
from collections import Counter
from typing import Dict, Sequence, Tuple

from ..phi.strings import word_tokens
from ..privacy.stats import mean_ci, proportion


def entity_preservation(
    source_entities: Sequence[Sequence[Tuple[str, str]]],
    synthetic_entities: Sequence[Sequence[Tuple[str, str]]],
) -> Dict:
    """Share of each source note's (label, text) entities that its synthetic note carries as entities with
    the same label and text, counted as multisets (a drug mentioned twice must appear twice), with a
    Wilson interval. Positions are not compared, so it applies to generators that move entities too.
    """
    kept = total = 0
    for source, synthetic in zip(source_entities, synthetic_entities):
        available = Counter(synthetic)
        for entity in source:
            total += 1
            if available[entity] > 0:
                available[entity] -= 1
                kept += 1
    return proportion(kept, total)


def fidelity(source_texts: Sequence[str], synthetic_texts: Sequence[str], seed: int = 0) -> Dict:
    """Mean ROUGE-1 and ROUGE-L F1 of each synthetic note against its source (rouge-score), with CIs."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rougeL"], use_stemmer=False)
    scores = [scorer.score(src, syn) for src, syn in zip(source_texts, synthetic_texts)]
    return {
        "rouge1": mean_ci([s["rouge1"].fmeasure for s in scores], seed=seed),
        "rougeL": mean_ci([s["rougeL"].fmeasure for s in scores], seed=seed),
    }


def distinct_n(texts: Sequence[str], n: int) -> float:
    """Distinct n-grams / all n-grams over the corpus (Li et al. 2016); lower-cased words."""
    grams = [
        tuple(tokens[i : i + n])
        for tokens in ([t.lower() for t in word_tokens(text)] for text in texts)
        for i in range(len(tokens) - n + 1)
    ]
    return len(set(grams)) / len(grams) if grams else 0.0


def self_bleu(texts: Sequence[str], sample: int = 100, references: int = 100, seed: int = 0) -> float:
    """Mean sentence BLEU (sacrebleu) of `sample` random notes, each against `references` other random
    notes as its references (Zhu et al. 2018; sampled like Texygen, as all pairs are quadratic).

    100 means every note repeats the others; lower is more diverse.
    """
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        raise ValueError("self-BLEU needs at least two notes")
    rng = random.Random(seed)
    bleu = BLEU(effective_order=True)
    chosen = rng.sample(range(len(texts)), min(sample, len(texts)))
    scores = []
    for i in chosen:
        others = [j for j in range(len(texts)) if j != i]
        refs = rng.sample(others, min(references, len(others)))
        scores.append(bleu.sentence_score(texts[i], [texts[j] for j in refs]).score)
    return sum(scores) / len(scores)


def fluency(reference_texts: Sequence[str], texts: Sequence[str], seed: int = 0) -> Dict:
    """Fluency proxy: perplexity per word of `texts` under a word trigram model fitted on real held-out
    notes (`reference_texts`); lower is closer to real clinical prose. The mean log-probability per word
    has a bootstrap interval over notes; perplexity is exp(-mean)."""
    from ..privacy.mia import NgramModel

    if not reference_texts:
        raise ValueError("the fluency reference model needs real held-out notes")
    model = NgramModel(reference_texts)
    log_probs = mean_ci([model.log_prob(text) for text in texts], seed=seed)
    low, high = log_probs["ci"] or (log_probs["value"], log_probs["value"])
    return {
        "perplexity": math.exp(-log_probs["value"]),
        "ci": [math.exp(-high), math.exp(-low)],
        "notes": log_probs["n"],
    }
