"""Masked-LM logits at selected positions only.

The vocabulary projection is most of a small masked LM's cost (a 30k-word
vocabulary against a 384-wide encoder); training and infilling need it only at
masked positions. BERT-family models (`model.cls`) are projected there alone;
other masked LMs fall back to the full forward pass.

`encoder_inputs` and `piece_select` lay rows of word-piece ids out as the
encoder reads them, `[CLS] ids [SEP]`, so piece i of a row is column i + 1.
"""

from typing import Sequence, Tuple

import torch


def encoder_inputs(tokenizer, rows: Sequence[Sequence[int]]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Each row as `[CLS] ids [SEP]`, right-padded to the longest.

    RETURNS (Tuple[torch.Tensor, torch.Tensor]): input_ids and attention_mask, (len(rows), longest + 2).
    """
    width = max((len(ids) for ids in rows), default=0) + 2
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention = torch.zeros((len(rows), width), dtype=torch.long)
    for row, ids in enumerate(rows):
        input_ids[row, : len(ids) + 2] = torch.tensor([tokenizer.cls_token_id, *ids, tokenizer.sep_token_id])
        attention[row, : len(ids) + 2] = 1
    return input_ids, attention


def piece_select(input_ids: torch.Tensor, positions: Sequence[Sequence[int]]) -> torch.Tensor:
    """True at the columns of `encoder_inputs` that hold each row's pieces at `positions`."""
    select = torch.zeros_like(input_ids, dtype=torch.bool)
    for row, row_positions in enumerate(positions):
        select[row, [p + 1 for p in row_positions]] = True
    return select


def _head(model):
    """The separate masked-LM head of a BERT-family model (`model.cls`), or None."""
    head = getattr(model, "cls", None)
    return head if head is not None and getattr(model, "base_model", None) is not None else None


def states_at(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor, select: torch.Tensor
) -> torch.Tensor:
    """What `project` turns into logits, for the positions where `select` is True.

    For BERT-family models the encoder's hidden states there, (n_selected, hidden):
    projecting them in slices keeps the (n_selected, vocab) logits of a large batch
    from being held at once. Other models: their logits there.
    """
    if _head(model) is None:
        return model(input_ids=input_ids, attention_mask=attention_mask).logits[select]
    return model.base_model(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state[select]


def project(model, states: torch.Tensor) -> torch.Tensor:
    """Logits, (n, vocab), of rows of `states_at`."""
    head = _head(model)
    return states if head is None else head(states)


def logits_at(
    model, input_ids: torch.Tensor, attention_mask: torch.Tensor, select: torch.Tensor
) -> torch.Tensor:
    """Logits for the positions where `select` is True, as a (n_selected, vocab) tensor."""
    return project(model, states_at(model, input_ids, attention_mask, select))
