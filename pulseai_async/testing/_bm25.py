"""Okapi BM25 ranking for the emulator's retrieval, with scores scaled to 0..1.

Each chunk's term counts are computed once when it is stored (`TermStats`); a query
scores every candidate against collection statistics gathered at query time. The raw
score is divided by its upper bound for the query (the idf of each query term that
occurs in the collection, times `k1 + 1`, the limit of the saturating term-frequency
factor), so scores fall in 0..1 whatever the collection size or query length.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

import msgspec

__all__ = ["TermStats", "rank", "tokenize"]

_WORD = re.compile(r"\w+", re.UNICODE)
K1 = 1.5
B = 0.75


def tokenize(text: str) -> list[str]:
    """Lower-cased word tokens (letters, digits, underscore; any script)."""
    return _WORD.findall(text.lower())


class TermStats(msgspec.Struct, frozen=True):
    counts: dict[str, int]
    length: int

    @classmethod
    def of(cls, text: str) -> TermStats:
        tokens = tokenize(text)
        return cls(dict(Counter(tokens)), len(tokens))


def rank(query: str, documents: Sequence[TermStats]) -> list[tuple[int, float]]:
    """(index, score) of every document that shares a term with `query`, best first;
    ties keep the documents' order."""
    terms = set(tokenize(query))
    if not terms or not documents:
        return []
    total = len(documents)
    average = sum(doc.length for doc in documents) / total or 1.0
    idf: dict[str, float] = {}
    for term in terms:
        containing = sum(1 for doc in documents if term in doc.counts)
        if containing:  # a term no chunk has cannot count for or against any of them
            idf[term] = math.log(1.0 + (total - containing + 0.5) / (containing + 0.5))
    if not idf:
        return []
    bound = sum(idf.values()) * (K1 + 1.0)
    scored: list[tuple[int, float]] = []
    for index, doc in enumerate(documents):
        raw = 0.0
        norm = K1 * (1.0 - B + B * doc.length / average)
        for term in idf:
            tf = doc.counts.get(term, 0)
            if tf:
                raw += idf[term] * tf * (K1 + 1.0) / (tf + norm)
        if raw > 0.0:
            scored.append((index, raw / bound))
    scored.sort(key=lambda item: -item[1])
    return scored
