"""Constrained decoding for EntityConditioned: plan entities written verbatim inside markers.

A module of its own so that transformers' generation classes, which take
seconds to import, load only when a note is written.
"""

from typing import List, Sequence

import torch
from transformers import LogitsProcessor


class EntityForcing(LogitsProcessor):
    """Constrained decoding: writes plan entities verbatim inside markers (see `entity_conditioned`)."""

    def __init__(
        self,
        entity_ids: List[List[List[int]]],
        prompt_length: int,
        max_length: int,
        open_id: int,
        close_id: int,
        end_ids: Sequence[int],
    ):
        self.entity_ids, self.prompt_length, self.max_length = entity_ids, prompt_length, max_length
        self.open_id, self.close_id, self.end_ids = open_id, close_id, list(end_ids)

    def __call__(self, input_ids: "torch.LongTensor", scores: "torch.FloatTensor") -> "torch.FloatTensor":
        remaining = self.max_length - input_ids.shape[1]
        for row in range(input_ids.shape[0]):
            entities = self.entity_ids[row]
            generated = input_ids[row, self.prompt_length :].tolist()
            opens = [i for i, t in enumerate(generated) if t == self.open_id]
            if opens and self.close_id not in generated[opens[-1] :]:
                index = len(opens) - 1
                target = (entities[index] if index < len(entities) else []) + [self.close_id]
                written = len(generated) - opens[-1] - 1
                self._force(scores, row, target[min(written, len(target) - 1)])
                continue
            scores[row, self.close_id] = -float("inf")
            left = entities[len(opens) :]
            if not left:
                scores[row, self.open_id] = -float("inf")
                continue
            scores[row, self.end_ids] = -float("inf")
            if remaining <= sum(len(e) + 2 for e in left) + 1:
                self._force(scores, row, self.open_id)
        return scores

    @staticmethod
    def _force(scores: "torch.FloatTensor", row: int, token: int) -> None:
        keep = scores[row, token].clone()
        scores[row] = -float("inf")
        scores[row, token] = keep if torch.isfinite(keep) else 0.0
