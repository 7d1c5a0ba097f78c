"""Exact-match statistics against a reference corpus (a suffix automaton)."""

from typing import Dict, Hashable, Iterable, List, Sequence


class SuffixAutomaton:
    """The suffix automaton of a set of token sequences (Blumer et al. 1985).

    `match_lengths(seq)[i]` is the length of the longest run of tokens ending at
    position i of `seq` that occurs contiguously inside one of the indexed
    sequences, in time linear in the total length. An n-gram of `seq` ending at
    i occurs in the corpus iff `match_lengths(seq)[i] >= n`.
    """

    def __init__(self, sequences: Iterable[Sequence[Hashable]]):
        self.next: List[Dict[Hashable, int]] = [{}]
        self.link: List[int] = [-1]
        self.length: List[int] = [0]
        for index, seq in enumerate(sequences):
            last = 0
            for token in seq:
                last = self._extend(last, token)
            # A separator that occurs once, so no match spans two sequences.
            self._extend(last, ("<sep>", index))

    def _extend(self, last: int, token: Hashable) -> int:
        cur = len(self.length)
        self.next.append({})
        self.link.append(0)
        self.length.append(self.length[last] + 1)
        p = last
        while p != -1 and token not in self.next[p]:
            self.next[p][token] = cur
            p = self.link[p]
        if p != -1:
            q = self.next[p][token]
            if self.length[p] + 1 == self.length[q]:
                self.link[cur] = q
            else:
                clone = len(self.length)
                self.next.append(dict(self.next[q]))
                self.link.append(self.link[q])
                self.length.append(self.length[p] + 1)
                while p != -1 and self.next[p].get(token) == q:
                    self.next[p][token] = clone
                    p = self.link[p]
                self.link[q] = clone
                self.link[cur] = clone
        return cur

    def match_lengths(self, seq: Sequence[Hashable]) -> List[int]:
        """For each position of `seq`, the longest matched run of tokens ending there."""
        state, length, out = 0, 0, []
        for token in seq:
            while state and token not in self.next[state]:
                state = self.link[state]
                length = self.length[state]
            if token in self.next[state]:
                state = self.next[state][token]
                length += 1
            else:
                length = 0
            out.append(length)
        return out
