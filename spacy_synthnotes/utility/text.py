"""Text-level utility measures: entity preservation, ROUGE fidelity, distinct-n and self-BLEU diversity."""

import random
from typing import Any, Dict, Iterable, List, Sequence

from ..privacy.stats import mean_ci, proportion
from ..privacy.text import word_tokens


def entity_preservation(
    alignments: Iterable[List[Dict[str, Any]]], source_texts: Sequence[str], synthetic_texts: Sequence[str]
) -> Dict:
    """Share of the source's kept entities present in the synthetic note, verbatim, at their recorded span.

    alignments: `doc._.synthetic_alignment` of each note (source/target spans and action).
    """
    kept = exact = 0
    for records, source, synthetic in zip(alignments, source_texts, synthetic_texts):
        for record in records:
            if record["action"] != "keep":
                continue
            kept += 1
            start, end, _ = record["source"]
            target = record["target"]
            exact += target is not None and synthetic[target[0] : target[1]] == source[start:end]
    return proportion(exact, kept)


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


def self_bleu(texts: Sequence[str], sample: int = 200, seed: int = 0) -> float:
    """Mean sentence BLEU (sacrebleu) of each sampled note against all the other notes as references.

    100 means every note repeats the others; lower is more diverse (Zhu et al. 2018).
    """
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        raise ValueError("self-BLEU needs at least two notes")
    indices = list(range(len(texts)))
    random.Random(seed).shuffle(indices)
    bleu = BLEU(effective_order=True)
    chosen = indices[:sample]
    scores = [bleu.sentence_score(texts[i], [texts[j] for j in indices if j != i]).score for i in chosen]
    return sum(scores) / len(scores)
