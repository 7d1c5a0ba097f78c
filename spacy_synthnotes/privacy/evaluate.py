"""`evaluate_privacy`: every privacy measure of a synthetic corpus, with one verdict line per measure."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence

from spacy.tokens import Doc

from ..training.corpus import replace_phi
from .canaries import Canary, exposure
from .dcr import distance_to_closest_record
from .leakage import phi_leakage
from .memorization import memorization
from .mia import model_membership_inference, synthetic_membership_inference
from .reid import Detector, pattern_detector, reidentification_risk
from .scoring import LossScorer

# Defaults a privacy officer can tighten; each verdict states the one it used.
DEFAULT_THRESHOLDS: Dict[str, float] = {
    "linked_leakage": 0.0,  # share of a source note's PHI strings found in the note made from it
    "leakage_excess": 0.5,  # training PHI strings per synthetic note minus per held-out note (chance)
    "ngram13_excess": 0.05,  # synthetic 13-gram verbatim rate minus the held-out real notes' rate
    "near_copies": 0.10,  # share of synthetic notes closer to a training note than 95% of real notes are
    "mia_auc": 0.60,  # AUC of the best attack on the generator
    "text_mia_auc": 0.60,  # AUC of the best attack from the synthetic text alone
    "exposure_bits": 4.0,  # mean exposure of the most-repeated canaries
    "reid_excess": 0.02,  # share of synthetic notes singling out one training note, minus chance
}


@dataclass
class PrivacyInputs:
    """What the evaluators read: real notes, the synthetic texts and optionally the generator."""

    train: Sequence[Doc]
    heldout: Sequence[Doc]
    synthetic: Sequence[str]
    sources: Optional[Sequence[Optional[int]]] = None  # training note index of each synthetic note
    model: Optional[LossScorer] = None
    reference: Optional[LossScorer] = None
    phi_replacement: str = "surrogate"  # how the recipe showed the notes to the model
    training_seed: int = 0
    canaries: List[Canary] = field(default_factory=list)
    detector: Detector = pattern_detector
    phi_labels: Optional[Sequence[str]] = None
    dp: Optional[Dict[str, Any]] = (
        None  # the model's DP-SGD record (epsilon, delta, unit), if trained with DP
    )


def _upper(figure: Dict[str, Any]) -> float:
    return figure["ci"][1] if figure.get("ci") else figure["value"]


def verdict(name: str, value: Optional[float], threshold: float, ok: bool, text: str) -> Dict[str, Any]:
    return {"metric": name, "value": value, "threshold": threshold, "pass": ok, "text": text}


def best_auc(attacks: Dict[str, Any]) -> Optional[float]:
    """The highest AUC among the attacks that report one; None when none does."""
    aucs = [a["auc"]["value"] for a in attacks.values() if isinstance(a, dict) and "auc" in a]
    return max(aucs, default=None)


def evaluate_privacy(
    inputs: PrivacyInputs,
    *,
    thresholds: Optional[Dict[str, float]] = None,
    max_mia_notes: int = 400,
    exposure_candidates: int = 500,
    fuzzy_threshold: float = 90.0,
    seed: int = 0,
) -> Dict[str, Any]:
    """Run every measure the inputs allow; RETURNS (Dict[str, Any]) the figures and the verdicts."""
    limits = {**DEFAULT_THRESHOLDS, **(thresholds or {})}
    unknown = set(limits) - set(DEFAULT_THRESHOLDS)
    if unknown:
        raise ValueError(f"Unknown privacy thresholds {sorted(unknown)}; known: {sorted(DEFAULT_THRESHOLDS)}")
    train_texts = [d.text for d in inputs.train]
    heldout_texts = [d.text for d in inputs.heldout]
    result: Dict[str, Any] = {"n_train": len(train_texts), "n_heldout": len(heldout_texts)}
    result["n_synthetic"] = len(inputs.synthetic)
    result["dp"] = inputs.dp
    verdicts: List[Dict[str, Any]] = []

    leak = phi_leakage(
        inputs.train,
        inputs.synthetic,
        sources=inputs.sources,
        phi_labels=inputs.phi_labels,
        heldout_texts=heldout_texts,
        fuzzy_threshold=fuzzy_threshold,
    )
    result["leakage"] = leak
    if "linked" in leak:
        value = leak["linked"]["phi"]["value"] or 0.0
        verdicts.append(
            verdict(
                "linked_leakage",
                value,
                limits["linked_leakage"],
                value <= limits["linked_leakage"],
                f"{leak['linked']['phi']['k']} source-note PHI strings reappear in the notes made from them",
            )
        )
    synthetic_rate = leak["per_note"]["synthetic"]["value"] or 0.0
    chance = leak["per_note"]["heldout_baseline"]["value"] or 0.0
    verdicts.append(
        verdict(
            "leakage_excess",
            synthetic_rate - chance,
            limits["leakage_excess"],
            synthetic_rate - chance <= limits["leakage_excess"],
            f"{synthetic_rate:.2f} training PHI strings per synthetic note (other than its source's), "
            f"{chance:.2f} per held-out real note by chance",
        )
    )

    memo = memorization(inputs.synthetic, train_texts, heldout_texts=heldout_texts, seed=seed)
    result["memorization"] = memo
    rate = memo["ngrams"]["13"]["verbatim"]["value"] or 0.0
    base = memo["heldout_baseline"]["ngrams"]["13"]["verbatim"]["value"] or 0.0
    verdicts.append(
        verdict(
            "ngram13_excess",
            rate - base,
            limits["ngram13_excess"],
            rate - base <= limits["ngram13_excess"],
            f"{rate:.1%} of synthetic 13-grams occur verbatim in training notes "
            f"(held-out real notes: {base:.1%})",
        )
    )

    dcr = distance_to_closest_record(inputs.synthetic, train_texts, heldout_texts, seed=seed)
    result["dcr"] = dcr
    copies = dcr["near_copies"]["value"]
    anonymized = copies > 0.5
    verdicts.append(
        verdict(
            "near_copies",
            copies,
            limits["near_copies"],
            copies <= limits["near_copies"],
            f"{copies:.1%} of synthetic notes are closer to a training note than 95% of held-out notes are; "
            f"{dcr['closer_to_train']['value']:.1%} are nearer training than held-out notes "
            f"(expected {dcr['expected_closer_to_train']:.1%})"
            + (" - anonymized, not synthetic" if anonymized else ""),
        )
    )
    result["anonymized_not_synthetic"] = anonymized

    if inputs.model is not None:
        members = replace_phi(
            inputs.train, inputs.phi_replacement, inputs.phi_labels, seed=inputs.training_seed
        )
        others = replace_phi(
            inputs.heldout, inputs.phi_replacement, inputs.phi_labels, seed=inputs.training_seed
        )
        mia = model_membership_inference(
            inputs.model,
            [n.text for n in members[:max_mia_notes]],
            [n.text for n in others[:max_mia_notes]],
            reference=inputs.reference,
            seed=seed,
        )
        result["model_mia"] = mia
        auc = best_auc(mia)
        verdicts.append(
            verdict(
                "mia_auc",
                auc,
                limits["mia_auc"],
                auc <= limits["mia_auc"],
                f"best membership attack on the generator: AUC {auc:.3f} "
                f"(TPR at 1% FPR {mia['loss_attack']['tpr_at_0.01_fpr']['value']:.1%}, loss attack)",
            )
        )
        secret = [c for c in inputs.canaries if c.kind == "secret"]
        if secret:
            exp = exposure(inputs.model, secret, n_candidates=exposure_candidates, seed=seed)
            result["exposure"] = exp
            top = max(exp["per_count"], key=int)
            bits = exp["per_count"][top]["exposure"]["value"]
            unplanted = exp["per_count"].get("0", {}).get("exposure", {}).get("value", float("nan"))
            verdicts.append(
                verdict(
                    "exposure_bits",
                    bits,
                    limits["exposure_bits"],
                    bits <= limits["exposure_bits"],
                    f"canaries planted {top}x: mean exposure {bits:.1f} bits of at most "
                    f"{exp['max_rank_exposure']:.1f} (canaries not planted: {unplanted:.1f})",
                )
            )

    text_mia = {
        "notes": synthetic_membership_inference(inputs.synthetic, train_texts, heldout_texts, seed=seed)
    }
    natural = [c for c in inputs.canaries if c.kind == "natural"]
    if any(c.repeats for c in natural) and any(not c.repeats for c in natural):
        text_mia["canaries"] = synthetic_membership_inference(
            inputs.synthetic,
            [c.text for c in natural if c.repeats],
            [c.text for c in natural if not c.repeats],
            seed=seed,
        )
    result["text_mia"] = text_mia
    auc = max(best_auc(v) for v in text_mia.values())
    verdicts.append(
        verdict(
            "text_mia_auc",
            auc,
            limits["text_mia_auc"],
            auc <= limits["text_mia_auc"],
            f"best membership attack from the released notes alone: AUC {auc:.3f}",
        )
    )

    reid = reidentification_risk(
        inputs.train,
        inputs.synthetic,
        detector=inputs.detector,
        phi_labels=inputs.phi_labels,
        sources=inputs.sources,
        heldout_texts=heldout_texts,
    )
    result["reidentification"] = reid
    risk, chance = reid["risk"]["value"], reid["heldout_baseline"]["value"]
    own = f", {reid['own_source']['k']} of them their own source" if "own_source" in reid else ""
    verdicts.append(
        verdict(
            "reid_excess",
            risk - chance,
            limits["reid_excess"],
            risk - chance <= limits["reid_excess"],
            f"{risk:.1%} of synthetic notes carry PHI that singles out one training note{own} "
            f"({chance:.1%} of held-out real notes do by chance)",
        )
    )
    result["verdicts"] = verdicts
    result["thresholds"] = limits
    return result
