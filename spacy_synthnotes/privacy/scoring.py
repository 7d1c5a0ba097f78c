"""Per-note and per-secret losses of a trained language model: what membership and exposure attacks use.

A masked LM (our MaskedInfill model or any local BERT-style checkpoint) is
scored by pseudo-log-likelihood: every word piece is masked once (in `rotations`
interleaved passes) and predicted from the rest. A causal LM is scored by its
next-token loss. Both load from local directories only.
"""

from pathlib import Path
from typing import List, Protocol, Sequence, Tuple, Union

import numpy as np
import torch

from ..batching import length_batches
from ..generators.mlm_head import encoder_inputs, logits_at, piece_select


class LossScorer(Protocol):
    def losses(self, texts: Sequence[str]) -> np.ndarray:
        """The mean per-piece negative log-likelihood of each text."""

    def secret_losses(self, prefix: str, secrets: Sequence[str], suffix: str) -> np.ndarray:
        """The summed negative log-likelihood of each secret's pieces in `prefix + secret + suffix`."""


def _secret_positions(tokenizer, prefix: str, secret: str, suffix: str) -> Tuple[List[int], List[int]]:
    """Piece ids of the whole text (no special tokens) and the indices of the pieces inside the secret."""
    text = prefix + secret + suffix
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    start, end = len(prefix), len(prefix) + len(secret)
    inside = [i for i, (a, b) in enumerate(enc["offset_mapping"]) if a < end and b > start]
    return enc["input_ids"], inside


class MaskedLMScorer:
    """Pseudo-log-likelihood under a masked LM."""

    def __init__(self, model, tokenizer, *, rotations: int = 5, batch_size: int = 32):
        self.model, self.tokenizer = model.eval(), tokenizer
        self.rotations, self.batch_size = rotations, batch_size
        self.width = min(getattr(model.config, "max_position_embeddings", 512), 512) - 2

    def _masked(self, ids: List[int], positions: List[int]) -> List[int]:
        out = list(ids)
        for i in positions:
            out[i] = self.tokenizer.mask_token_id
        return out

    def _nll(self, rows: List[Tuple[List[int], List[int]]]) -> List[float]:
        """For each (piece ids, positions to mask), the summed NLL of those pieces, all masked at once."""
        out = [0.0] * len(rows)
        for batch in length_batches([len(ids) for ids, _ in rows], self.batch_size):
            chunk = [rows[i] for i in batch]
            input_ids, attention = encoder_inputs(self.tokenizer, [self._masked(*row) for row in chunk])
            select = piece_select(input_ids, [masked for _, masked in chunk])
            targets = [ids[i] for ids, masked in chunk for i in sorted(masked)]
            with torch.inference_mode():
                logits = logits_at(self.model, input_ids, attention, select)
                nll = torch.nn.functional.cross_entropy(logits, torch.tensor(targets), reduction="none")
            counts = [len(m) for _, m in chunk]
            for i, part in zip(batch, torch.split(nll, counts)):
                out[i] = float(part.sum())
        return out

    def losses(self, texts: Sequence[str]) -> np.ndarray:
        rows, owners, sizes = [], [], np.zeros(len(texts))
        for n, text in enumerate(texts):
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            for start in range(0, len(ids), self.width):
                window = ids[start : start + self.width]
                sizes[n] += len(window)
                for r in range(self.rotations):
                    masked = list(range(r, len(window), self.rotations))
                    if masked:
                        rows.append((window, masked))
                        owners.append(n)
        totals = np.zeros(len(texts))
        np.add.at(totals, owners, self._nll(rows))
        return totals / np.maximum(sizes, 1)

    def secret_losses(self, prefix: str, secrets: Sequence[str], suffix: str) -> np.ndarray:
        rows, owners = [], []
        for n, secret in enumerate(secrets):
            ids, inside = _secret_positions(self.tokenizer, prefix, secret, suffix)
            for i in inside:  # one piece masked at a time: pseudo-log-likelihood of the secret
                rows.append((ids, [i]))
                owners.append(n)
        totals = np.zeros(len(secrets))
        np.add.at(totals, owners, self._nll(rows))
        return totals


class CausalLMScorer:
    """Next-token log-likelihood under a causal LM."""

    def __init__(self, model, tokenizer, *, batch_size: int = 16):
        self.model, self.tokenizer, self.batch_size = model.eval(), tokenizer, batch_size
        self.width = getattr(model.config, "max_position_embeddings", 1024)
        self.start = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []

    def _token_nll(self, sequences: List[List[int]]) -> List[np.ndarray]:
        """Per-token NLL of each sequence (the first token has no prediction)."""
        out: List[np.ndarray] = [np.zeros(0)] * len(sequences)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else 0
        for batch in length_batches([len(s) for s in sequences], self.batch_size):
            chunk = [sequences[i] for i in batch]
            width = max(len(s) for s in chunk)
            input_ids = torch.full((len(chunk), width), pad, dtype=torch.long)
            attention = torch.zeros_like(input_ids)
            for r, seq in enumerate(chunk):
                input_ids[r, : len(seq)] = torch.tensor(seq)
                attention[r, : len(seq)] = 1
            with torch.inference_mode():
                logits = self.model(input_ids=input_ids, attention_mask=attention).logits[:, :-1]
                nll = torch.nn.functional.cross_entropy(
                    logits.transpose(1, 2), input_ids[:, 1:], reduction="none"
                )
            for r, (i, seq) in enumerate(zip(batch, chunk)):
                out[i] = nll[r, : len(seq) - 1].numpy()
        return out

    def losses(self, texts: Sequence[str]) -> np.ndarray:
        sequences = []
        for text in texts:
            ids = self.start + self.tokenizer(text, add_special_tokens=False)["input_ids"]
            sequences.append(ids[: self.width])
        return np.array([float(n.mean()) if n.size else 0.0 for n in self._token_nll(sequences)])

    def secret_losses(self, prefix: str, secrets: Sequence[str], suffix: str) -> np.ndarray:
        sequences, spans = [], []
        for secret in secrets:
            ids, inside = _secret_positions(self.tokenizer, prefix, secret, suffix)
            sequences.append(self.start + ids)
            spans.append([i + len(self.start) for i in inside])
        nll = self._token_nll(sequences)
        # nll[k] predicts token k + 1
        return np.array([float(sum(n[i - 1] for i in span if i > 0)) for n, span in zip(nll, spans)])


def load_scorer(path: Union[str, Path], **options) -> LossScorer:
    """A scorer for the local model directory at `path` (masked or causal, read from its config)."""
    from transformers import AutoConfig, AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer

    path = Path(path)
    if not (path / "config.json").exists():
        raise ValueError(f"{path} is not a model directory (no config.json): pass a trained model's folder")
    config = AutoConfig.from_pretrained(str(path), local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    causal = getattr(config, "is_decoder", False) or any(
        a.endswith("ForCausalLM") for a in (config.architectures or [])
    )
    if causal:
        return CausalLMScorer(
            AutoModelForCausalLM.from_pretrained(str(path), local_files_only=True), tokenizer, **options
        )
    return MaskedLMScorer(
        AutoModelForMaskedLM.from_pretrained(str(path), local_files_only=True), tokenizer, **options
    )
