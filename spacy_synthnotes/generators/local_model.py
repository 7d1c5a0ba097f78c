"""What the generators that run a local Hugging Face model share: lazy loading, surrogates, serialization."""

from pathlib import Path
from typing import Any, Dict, Tuple, Union

import srsly

from .base import NotePlan
from .surrogate import SurrogateGenerator


class LocalModelGenerator:
    """Base of MaskedInfill and EntityConditioned: the model directory is `cfg["model"]`.

    Subclasses implement `read(path)` (load model and tokenizer, importing
    transformers' model classes there: they take seconds to import, and a
    pipeline without a model never needs them; any exception but an ImportError
    becomes a clear error naming the directory) and may override `loaded`
    (checks and derived state). `to_disk` writes the model into the pipeline,
    so a saved pipeline does not depend on the source directory.
    """

    kind = "model"  # in messages: "MaskedInfill model", "EntityConditioned model"
    expected = "model directory (config.json, weights and tokenizer files)"

    def __init__(self, cfg: Dict[str, Any]):
        self.cfg = cfg
        self._surrogates = SurrogateGenerator(locale=cfg["locale"])
        self._model = None
        self._tokenizer = None

    def read(self, path: Path) -> Tuple[Any, Any]:  # pragma: no cover - abstract
        raise NotImplementedError

    def loaded(self, path: Path, model, tokenizer) -> None:
        """Called after a successful `read`; raise ValueError to refuse the model."""

    def load(self, path: Union[str, Path]) -> None:
        """Load the model and its tokenizer from a local directory (clear error if it is not one)."""
        path = Path(path)
        if not path.is_dir():
            raise ValueError(f"{self.kind} {path} is not a directory")
        try:
            model, tokenizer = self.read(path)
        except ImportError:  # a broken install, not a bad directory
            raise
        except Exception as err:  # transformers raises OSError, ValueError, safetensors errors...
            raise ValueError(
                f"{self.kind} {path} is not a loadable {self.expected}: {type(err).__name__}: {err}"
            ) from None
        self.loaded(path, model, tokenizer)
        model.eval()
        self._model, self._tokenizer = model, tokenizer

    @property
    def model(self):
        if self._model is None:
            self.load(self.cfg["model"])
        return self._model

    @property
    def tokenizer(self):
        if self._tokenizer is None:
            self.load(self.cfg["model"])
        return self._tokenizer

    def surrogates_for(self, plan: NotePlan):
        """The note's surrogate table (shared with the residual-PHI check)."""
        return self._surrogates.surrogates_for(plan)

    def to_disk(self, path: Union[str, Path]) -> None:
        """Save the model, its tokenizer and the settings, so a pipeline directory is self-contained."""
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(path / "model")
        self.tokenizer.save_pretrained(path / "model")
        srsly.write_json(path / "cfg.json", self.cfg)

    def from_disk(self, path: Union[str, Path]):
        """Load what `to_disk` wrote (the settings of the pipeline config are kept)."""
        self.load(Path(path) / "model")
        return self
