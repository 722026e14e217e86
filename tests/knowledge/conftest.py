"""Helpers shared by the Knowledge API tests."""

from __future__ import annotations

import pulseai_async as pa

FAST_POLL = {"poll_interval": 0.005, "max_interval": 0.02, "timeout": 30.0}

TRAVEL = (
    "Paris is the capital of France and home of the Eiffel Tower.\n\n"
    "The Great Wall of China stretches across the mountains of northern China.\n\n"
    "Mount Fuji is the highest mountain in Japan and an active volcano.\n\n"
    "Venice is built on islands in a lagoon and is famous for its canals."
)
PARAGRAPHS = pa.ProcessRule.custom(separator="\n\n", max_tokens=100)


async def indexed_document(
    pulse: pa.AsyncPulse, text: str = TRAVEL, *, technique: pa.IndexingTechnique = "high_quality"
) -> tuple[pa.Dataset, pa.Document]:
    """A knowledge base with one completely indexed document, one chunk per paragraph."""
    dataset = await pulse.datasets.create("Travel notes", indexing_technique=technique)
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "travel.txt", text, indexing_technique=technique, process_rule=PARAGRAPHS
    )
    await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
    return dataset, created.document
