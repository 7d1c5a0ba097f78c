"""Reading what `evaluate-privacy` needs from disk: corpora, synthesize output, the generator's model dir."""

from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import spacy
import srsly
from spacy.tokens import Doc

from ..extensions import NOTE_META
from ..generators.entity_conditioned import PRIVACY_FILE
from ..readers import open_corpus
from ..sharded import read_synthetic
from .canaries import CANARY_FILE, load_canaries
from .evaluate import PrivacyInputs
from .reid import pattern_detector
from .scoring import load_scorer

MODEL_META_FILES = ("synthnotes_mlm.json", "synthnotes_causal.json")


def read_docs(path: Path, **options) -> List[Doc]:
    return list(open_corpus(path, **options).docs(spacy.blank("en")))


def synthetic_notes(path: Path, train: List[Doc]) -> Tuple[List[str], List[Optional[int]]]:
    """The synthetic texts and, through `meta.source_id`, the index of each one's training note."""
    index = {(d._.get(NOTE_META) or {}).get("id"): i for i, d in enumerate(train)}
    index.pop(None, None)
    docs, _ = read_synthetic(path)
    sources = [index.get((doc._.get(NOTE_META) or {}).get("source_id")) for doc in docs]
    return [doc.text for doc in docs], sources


def model_meta(model: Path) -> Dict:
    for name in MODEL_META_FILES:
        if (model / name).exists():
            return srsly.read_json(model / name)
    return {}


def load_inputs(
    train: Union[str, Path],
    heldout: Union[str, Path],
    synthetic: Union[str, Path],
    *,
    model: Optional[Union[str, Path]] = None,
    reference: Optional[Union[str, Path]] = None,
    phi_pipeline: Optional[str] = None,
) -> PrivacyInputs:
    """Everything `evaluate_privacy` reads, from the paths the CLI takes.

    The model dir's metadata (written by our recipes) says how PHI was replaced
    and with which seed, so membership inference scores the notes exactly as the
    model saw them, and where its canaries are; a reference model defaults to
    the local model the recipe started from.
    """
    train_docs, heldout_docs = read_docs(Path(train)), read_docs(Path(heldout))
    texts, sources = synthetic_notes(Path(synthetic), train_docs)
    inputs = PrivacyInputs(
        train_docs, heldout_docs, texts, sources if any(s is not None for s in sources) else None
    )
    if model is not None:
        model = Path(model)
        inputs.model = load_scorer(model)
        meta = model_meta(model)
        config = meta.get("config", {})
        inputs.phi_replacement = meta.get("phi_replacement", "surrogate")
        inputs.training_seed = config.get("training", {}).get("seed", 0)
        if (model / PRIVACY_FILE).exists():
            inputs.dp = srsly.read_json(model / PRIVACY_FILE)
        if (model / CANARY_FILE).exists():
            inputs.canaries = load_canaries(model)
        if reference is None:
            from ..training.common import resolve_init

            init = config.get("model", {}).get("init")
            try:
                reference = resolve_init(init)
            except ValueError:
                reference = None
    if reference is not None:
        inputs.reference = load_scorer(reference)
    if phi_pipeline:
        nlp = spacy.load(phi_pipeline, exclude=["synth_notes"])

        def detector(text: str) -> List[Tuple[str, str]]:
            return [(e.label_, e.text) for e in nlp(text).ents] + pattern_detector(text)

        inputs.detector = detector
    return inputs
