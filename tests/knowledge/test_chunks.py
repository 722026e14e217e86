"""Chunks (segments): add, list, update, delete."""

from __future__ import annotations

import uuid

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import FAST_POLL, PARAGRAPHS, TRAVEL, indexed_document

pytestmark = pytest.mark.anyio


async def test_add_chunks_as_text_and_mappings(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    added = await pulse.datasets.chunks.add(
        dataset.id,
        document.id,
        [
            "Lisbon sits on seven hills.",
            {"content": "Porto makes port wine.", "keywords": ["wine"]},
        ],
    )
    assert [chunk.content for chunk in added] == [
        "Lisbon sits on seven hills.",
        "Porto makes port wine.",
    ]
    assert added[1].keywords == ["wine"]
    assert all(chunk.document_id == document.id for chunk in added)
    assert emulator.requests[-1].json() == {
        "segments": [
            {"content": "Lisbon sits on seven hills."},
            {"content": "Porto makes port wine.", "keywords": ["wine"]},
        ]
    }
    listed = await pulse.datasets.chunks.list(dataset.id, document.id).collect()
    assert [chunk.position for chunk in listed] == [1, 2, 3, 4, 5, 6]
    result = await pulse.datasets.retrieve(dataset.id, "seven hills")
    assert result.records[0].segment.id == added[0].id


async def test_add_to_a_document_still_indexing_is_not_found(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 5.0
    dataset = await pulse.datasets.create("Busy", indexing_technique="economy")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "a.txt", "text", indexing_technique="economy"
    )
    with pytest.raises(pa.NotFoundError, match="Document is not completed"):
        await pulse.datasets.chunks.add(dataset.id, created.document.id, ["more"])


async def test_add_to_a_disabled_document_is_not_found(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    await pulse.datasets.documents.update_status(dataset.id, "disable", [document.id])
    with pytest.raises(pa.NotFoundError, match="Document is disabled"):
        await pulse.datasets.chunks.add(dataset.id, document.id, ["more"])


async def test_qa_documents_need_answers(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("QA", indexing_technique="high_quality")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "qa.txt", "Q and A", indexing_technique="high_quality", doc_form="qa_model"
    )
    await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
    with pytest.raises(pa.InvalidParamError, match="Answer is empty"):
        await pulse.datasets.chunks.add(dataset.id, created.document.id, ["Question only?"])
    [chunk] = await pulse.datasets.chunks.add(
        dataset.id,
        created.document.id,
        [{"content": "How long is shipping?", "answer": "Two days."}],
    )
    assert chunk.answer == "Two days."


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([], "1 to 1000 chunks"),
        ("just a string", "must be a list"),
        ([""], r"segments\[0\].content must not be empty"),
        ([{"answer": "no content"}], r"segments\[0\].content must be a string"),
        ([{"content": "c", "keywords": "not-a-list"}], "keywords must be a list"),
        ([42], r"segments\[0\] must be a string or a mapping"),
    ],
)
async def test_bad_chunks_are_refused_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse, segments: object, message: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match=message):
        await pulse.datasets.chunks.add(str(uuid.uuid4()), str(uuid.uuid4()), segments)  # type: ignore[arg-type]
    assert emulator.requests == []


async def test_list_pages_and_filters(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    emulator.requests.clear()
    chunks = await pulse.datasets.chunks.list(dataset.id, document.id, limit=3).collect()
    assert [chunk.content for chunk in chunks] == TRAVEL.split("\n\n")
    assert all(chunk.status == "completed" for chunk in chunks)
    assert len(emulator.requests) == 2
    found = await pulse.datasets.chunks.list(dataset.id, document.id, keyword="volcano").collect()
    assert [chunk.content for chunk in found] == [TRAVEL.split("\n\n")[2]]
    done = await pulse.datasets.chunks.list(dataset.id, document.id, status="completed").collect()
    assert len(done) == 4


async def test_old_servers_list_every_chunk_at_once() -> None:
    async with Emulator(knowledge_legacy=True) as emulator, emulator.client() as pulse:
        dataset = await pulse.datasets.create("Old", indexing_technique="economy")
        created = await pulse.datasets.documents.create_from_text(
            dataset.id, "t.txt", TRAVEL, indexing_technique="economy", process_rule=PARAGRAPHS
        )
        await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
        emulator.requests.clear()
        chunks = await pulse.datasets.chunks.list(
            dataset.id, created.document.id, limit=2
        ).collect()
        assert len(chunks) == 4  # no has_more at all: one page, no second request
        assert len(emulator.requests) == 1
        # Old servers answer a missing list with {"error": ...}, not the usual envelope.
        with pytest.raises(pa.BadRequestError, match="Segments is required"):
            await pulse.request(
                "POST",
                f"/datasets/{dataset.id}/documents/{created.document.id}/segments",
                json={},
                scope="knowledge",
            )


async def test_update_changes_what_is_retrieved(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    chunks = await pulse.datasets.chunks.list(dataset.id, document.id).collect()
    paris = chunks[0]
    updated = await pulse.datasets.chunks.update(
        dataset.id, document.id, paris.id, content="Madrid is the capital of Spain."
    )
    assert updated.id == paris.id
    assert updated.content == "Madrid is the capital of Spain."
    assert (await pulse.datasets.retrieve(dataset.id, "Eiffel")).records == []
    top = (await pulse.datasets.retrieve(dataset.id, "Spain")).records[0]
    assert top.segment.id == paris.id


async def test_disabled_chunks_are_not_retrieved(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    fuji = (await pulse.datasets.retrieve(dataset.id, "Fuji")).records[0].segment
    updated = await pulse.datasets.chunks.update(dataset.id, document.id, fuji.id, enabled=False)
    assert updated.enabled is False
    assert (await pulse.datasets.retrieve(dataset.id, "Fuji")).records == []
    await pulse.datasets.chunks.update(
        dataset.id, document.id, fuji.id, enabled=True, keywords=["sakura"]
    )
    assert (await pulse.datasets.retrieve(dataset.id, "sakura")).records[0].segment.id == fuji.id


async def test_update_needs_a_change(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    with pytest.raises(pa.PulseValidationError, match="nothing to update"):
        await pulse.datasets.chunks.update(*ids)
    with pytest.raises(pa.PulseValidationError, match="segment_id must be a UUID"):
        await pulse.datasets.chunks.update(ids[0], ids[1], "seg-1", content="x")
    assert emulator.requests == []


@pytest.mark.parametrize("style", [200, 204])
async def test_delete_accepts_both_server_styles(emulator: Emulator, style: int) -> None:
    emulator.delete_style = style
    async with emulator.client() as pulse:
        dataset, document = await indexed_document(pulse)
        first = (await pulse.datasets.chunks.list(dataset.id, document.id).first_page()).items[0]
        assert await pulse.datasets.chunks.delete(dataset.id, document.id, first.id) is None
        remaining = await pulse.datasets.chunks.list(dataset.id, document.id).collect()
        assert first.id not in {chunk.id for chunk in remaining}
        assert len(remaining) == 3
        with pytest.raises(pa.NotFoundError, match="Segment not found"):
            await pulse.datasets.chunks.delete(dataset.id, document.id, first.id)
