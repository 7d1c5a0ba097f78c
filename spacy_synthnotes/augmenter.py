"""`spacy_synthnotes.synth_augmenter.v1`: add synthetic notes to a training corpus inside `spacy train`.

    [corpora.train]
    @readers = "spacy.Corpus.v1"
    path = ${paths.train}

    [corpora.train.augmenter]
    @augmenters = "spacy_synthnotes.synth_augmenter.v1"
    pipeline = "training/synth_surrogate"
    level = 0.5

Each training example is yielded as it is and, with probability `level`, is
followed by a synthetic example written by the `synth_notes` pipe of
`pipeline` from the example's gold entities: the synthetic text, with the
kept clinical entities and the surrogate PHI as gold entities (exact
character spans, aligned to the training pipeline's tokens).
"""

import random
from functools import partial
from typing import Callable, Iterator

from spacy.language import Language
from spacy.training import Example
from spacy.util import registry

from .extensions import install_extensions


def synth_augmenter(
    nlp: Language, example: Example, *, synth_nlp: Language, level: float, rng: random.Random
) -> Iterator[Example]:
    """Yield `example`, then, with probability `level`, its synthetic counterpart."""
    yield example
    if rng.random() >= level:
        return
    from .synthesize import synth_pipe_name

    reference = example.reference
    source = synth_nlp.make_doc(reference.text)
    spans = [
        source.char_span(e.start_char, e.end_char, e.label_, alignment_mode="expand") for e in reference.ents
    ]
    source.ents = [s for s in spans if s is not None]
    synth_nlp.get_pipe(synth_pipe_name(synth_nlp))(source)
    synthetic = source._.synthetic
    if synthetic is None:  # dropped by the residual check
        return
    entities = [(e.start_char, e.end_char, e.label_) for e in synthetic.ents]
    yield Example.from_dict(nlp.make_doc(synthetic.text), {"entities": entities})


@registry.augmenters("spacy_synthnotes.synth_augmenter.v1")
def create_synth_augmenter(pipeline: str, level: float = 0.5, seed: int = 0) -> Callable:
    """Registered factory (see module doc).

    pipeline (str): A directory or package with a `synth_notes` component.
    level (float): Probability in [0, 1] that an example gets a synthetic copy.
    seed (int): Seed of the coin flips (the notes' own seeds come from the pipe).
    RETURNS (Callable[[Language, Example], Iterator[Example]]): The augmenter.
    """
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"synth_augmenter level must be in [0, 1], got {level}")
    from .synthesize import load_pipeline

    install_extensions()
    return partial(synth_augmenter, synth_nlp=load_pipeline(pipeline), level=level, rng=random.Random(seed))
