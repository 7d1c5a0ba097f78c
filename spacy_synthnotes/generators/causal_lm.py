"""Checks that a local model can write notes: it predicts left to right, and its tokenizer keeps the text.

An encoder checkpoint (BERT, RoBERTa...) loads as a "causal LM" in Hugging Face
without complaint, yet attends to later tokens: trained on next-token loss it
reads the answer, and it cannot generate. `train-causal` loads such a checkpoint
as a decoder (`is_decoder = True`: causal attention, the warm start of Rothe et
al. 2020) and both the recipe and the generator verify causality by probing the
model. A tokenizer that lowercases, or drops line breaks and spaces (WordPiece),
would write every note altered, so it is refused too.
"""

from pathlib import Path
from typing import Optional

import torch

# Cased words, digits, punctuation with and without spaces, a tab and line breaks: what notes hold.
PROBE_TEXT = "HPI: Mr. O'Neil, 72, BP 120/80 (sitting).\n\tStarted Lisinopril 10 mg daily;\nSee q.d.-b.i.d."


def is_causal(model) -> bool:
    """Whether the model's prediction at each position ignores the tokens after it.

    Probed by changing the last of eight tokens: the logits before it must not move.
    """
    vocab = model.get_input_embeddings().num_embeddings
    ids = torch.arange(1, 9).remainder(vocab).unsqueeze(0)
    changed = ids.clone()
    changed[0, -1] = (changed[0, -1] + 1) % vocab
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            before = model(input_ids=ids).logits[0, :-1]
            after = model(input_ids=changed).logits[0, :-1]
    finally:
        model.train(was_training)
    return bool(torch.allclose(before, after, atol=1e-5))


def round_trip_problem(tokenizer) -> Optional[str]:
    """What the tokenizer changes in `PROBE_TEXT` when it encodes and decodes it, or None if nothing."""
    ids = tokenizer(PROBE_TEXT, add_special_tokens=False)["input_ids"]
    decoded = tokenizer.decode(ids, clean_up_tokenization_spaces=False)
    if decoded == PROBE_TEXT:
        return None
    return f"{PROBE_TEXT!r} comes back as {decoded!r}"


def check_writer(path: Path, model, tokenizer) -> None:
    """Raise a ValueError naming `path` if the model is not causal or its tokenizer alters text."""
    if not is_causal(model):
        raise ValueError(
            f"The model in {path} ({type(model).__name__}) is not a causal LM: its predictions depend on "
            "later tokens (an encoder loaded without is_decoder). train-causal loads an encoder checkpoint "
            "as a decoder; give the generator a model that recipe wrote."
        )
    problem = round_trip_problem(tokenizer)
    if problem is not None:
        raise ValueError(
            f"The tokenizer in {path} cannot write a note unchanged: {problem}. Use a model whose tokenizer "
            "keeps case, spaces and line breaks (byte-level BPE such as GPT-2's or RoBERTa's, or "
            "init = null to learn one from the corpus)."
        )
