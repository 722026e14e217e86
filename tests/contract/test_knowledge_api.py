"""The Knowledge API contract: knowledge bases, documents, indexing, chunks, retrieval.

Knowledge bases here are `economy` (keyword index): a server without an embedding model
can index them. Every test deletes what it created.
"""

from __future__ import annotations

import time
import uuid

import anyio
import pytest

import pulseai_async as pa
from pulseai_async import ProcessRule

from .conftest import Target

pytestmark = pytest.mark.anyio

TEXT = (
    "Orders ship within two business days from the warehouse in Lyon.\n\n"
    "Returns are free within thirty days of delivery.\n\n"
    "The X200 battery lasts fourteen hours."
)
PARAGRAPHS = ProcessRule.custom(separator="\n\n", max_tokens=200)


async def new_kb(
    target: Target, pulse: pa.AsyncPulse, cleanup, technique: str = "economy"
) -> pa.Dataset:
    """A knowledge base of this test's own, deleted at the end."""
    kb = await pulse.datasets.create(
        f"contract-{uuid.uuid4().hex[:10]}", indexing_technique=technique
    )
    cleanup(lambda: target.delete_knowledge_base(kb.id))
    return kb


async def indexed_document(pulse: pa.AsyncPulse, kb: pa.Dataset) -> pa.Document:
    added = await pulse.datasets.documents.create_from_text(
        kb.id, "handbook.txt", TEXT, indexing_technique="economy", process_rule=PARAGRAPHS
    )
    await pulse.datasets.documents.wait_until_indexed(
        kb.id, added.batch, timeout=90, poll_interval=0.2
    )
    return added.document


async def while_indexing(call, *args) -> float:
    """Run `call`, retrying while the server says the document is being indexed;
    returns how long that took (0: accepted at once)."""
    started = time.monotonic()
    with anyio.fail_after(60):
        while True:
            try:
                await call(*args)
            except (pa.InvalidActionError, pa.DocumentIndexingError) as error:
                if "being indexed" not in error.message and error.code != "document_indexing":
                    raise
                await anyio.sleep(0.3)
            else:
                return time.monotonic() - started if time.monotonic() - started > 0.01 else 0.0


# --- knowledge bases ---------------------------------------------------------------------------


@pytest.mark.relies_on(
    "POST /datasets creates a knowledge base (409 dataset_name_duplicate for a taken "
    "name); DELETE removes it, a second DELETE is 404"
)
async def test_create_and_delete_a_knowledge_base(target: Target) -> None:
    async with target.client() as pulse:
        name = f"contract-{uuid.uuid4().hex[:10]}"
        kb = await pulse.datasets.create(name, indexing_technique="economy")
        try:
            assert (kb.name, kb.indexing_technique) == (name, "economy")
            with pytest.raises(pa.DatasetNameDuplicateError) as duplicate:
                await pulse.datasets.create(name, indexing_technique="economy")
            assert duplicate.value.status == 409
        finally:
            await pulse.datasets.delete(kb.id)
        with pytest.raises(pa.NotFoundError):
            await pulse.datasets.delete(kb.id)
        with pytest.raises(pa.NotFoundError):
            await pulse.datasets.documents.list(kb.id).collect()


@pytest.mark.needs("plugin_daemon")
@pytest.mark.relies_on("GET /datasets lists the workspace's knowledge bases")
async def test_list_knowledge_bases(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        listed = [d.id async for d in pulse.datasets.list(limit=100)]
    assert kb.id in listed


@pytest.mark.needs("model_provider", "plugin_daemon")
@pytest.mark.relies_on(
    "a high_quality knowledge base embeds its chunks; semantic search ranks them"
)
async def test_high_quality_knowledge_base(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup, technique="high_quality")
        added = await pulse.datasets.documents.create_from_text(
            kb.id,
            "handbook.txt",
            TEXT,
            indexing_technique="high_quality",
            process_rule=PARAGRAPHS,
        )
        await pulse.datasets.documents.wait_until_indexed(kb.id, added.batch, timeout=120)
        result = await pulse.datasets.retrieve(
            kb.id, "How long does the battery last?", search_method="semantic_search", top_k=1
        )
    assert "battery" in result.records[0].segment.content


# --- documents --------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "create_by_text indexes a document (waiting ... completed) cut at the process rule's "
    "separator; the list and indexing-status endpoints show it"
)
async def test_create_a_document_from_text(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        listed = await pulse.datasets.documents.list(kb.id).collect()
        chunks = await pulse.datasets.chunks.list(kb.id, document.id).collect()
    assert [d.id for d in listed] == [document.id]
    assert listed[0].name == "handbook.txt" and listed[0].indexing_status == "completed"
    assert len(chunks) == 3 and "Lyon" in chunks[0].content


@pytest.mark.relies_on(
    "create_by_text without indexing_technique: PulseAI documents it as optional once the "
    "knowledge base has one; Dify 1.9.1 refuses it (400 invalid_param naming the field)"
)
async def test_create_from_text_without_indexing_technique(
    target: Target, cleanup, observe
) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        refusal: pa.InvalidParamError | None = None
        try:
            added = await pulse.datasets.documents.create_from_text(kb.id, "a.txt", TEXT)
        except pa.InvalidParamError as error:
            refusal = error
        else:
            await pulse.datasets.documents.wait_until_indexed(kb.id, added.batch, timeout=90)
    if refusal is None:
        observe("accepted")
    else:
        observe(f"refused: {refusal.status} {refusal.code} naming indexing_technique")
        assert "indexing_technique" in refusal.message
        assert "'economy' or 'high_quality'" in refusal.message  # the SDK says what to pass


@pytest.mark.relies_on(
    "create_by_file takes the file and its settings as the JSON `data` form field"
)
async def test_create_a_document_from_a_file(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        added = await pulse.datasets.documents.create_from_file(
            kb.id, ("faq.md", TEXT.encode()), indexing_technique="economy", process_rule=PARAGRAPHS
        )
        done = await pulse.datasets.documents.wait_until_indexed(kb.id, added.batch, timeout=90)
    assert added.document.name == "faq.md"
    assert done.status == "completed" and done.total_segments == 3


@pytest.mark.relies_on(
    "create_by_file of an .exe is refused: 415 unsupported_file_type per PulseAI's "
    "documentation, 400 invalid_param 'BAD REQUEST' on Dify 1.9.1"
)
async def test_create_a_document_from_an_exe(target: Target, cleanup, observe) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        with pytest.raises((pa.UnsupportedFileTypeError, pa.InvalidParamError)) as caught:
            await pulse.datasets.documents.create_from_file(
                kb.id, ("setup.exe", b"MZ\x90\x00"), indexing_technique="economy"
            )
    error = caught.value
    observe(f"{type(error).__name__} {error.status} {error.code}: {error.message}")


@pytest.mark.relies_on("update_by_text with name and text replaces the content and re-indexes it")
async def test_update_a_document_with_text(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        docs = pulse.datasets.documents
        updated = await docs.update_with_text(
            kb.id, document.id, name="shipping.txt", text="Shipping is free over 40 EUR."
        )
        await docs.wait_until_indexed(kb.id, updated.batch, timeout=90, poll_interval=0.2)
        (listed,) = await docs.list(kb.id).collect()
        chunks = await pulse.datasets.chunks.list(kb.id, document.id).collect()
    assert updated.document.id == document.id
    assert listed.name == "shipping.txt"
    assert [c.content for c in chunks] == ["Shipping is free over 40 EUR."]


@pytest.mark.relies_on(
    "update_by_text with only a name: a rename per PulseAI's documentation; Dify 1.9.1 "
    "refuses it (400 invalid_param 'Data source or Process rule is required')"
)
async def test_rename_a_document(target: Target, cleanup, observe) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        docs = pulse.datasets.documents
        refusal: pa.InvalidParamError | None = None
        try:
            await docs.update_with_text(kb.id, document.id, name="renamed.txt")
        except pa.InvalidParamError as error:
            refusal = error
        (listed,) = await docs.list(kb.id).collect()
    if refusal is None:
        assert listed.name == "renamed.txt"
        observe("renamed")
    else:
        observe(f"refused: {refusal.code} {refusal.message!r}")
        assert "send text=" in refusal.message  # the SDK says what to do instead
        assert listed.name == "handbook.txt"


@pytest.mark.relies_on("update_by_file replaces a document's content with a file and re-indexes")
async def test_update_a_document_with_a_file(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        updated = await pulse.datasets.documents.update_with_file(
            kb.id, document.id, ("v2.txt", b"Version two of the handbook.")
        )
        await pulse.datasets.documents.wait_until_indexed(kb.id, updated.batch, timeout=90)
        chunks = await pulse.datasets.chunks.list(kb.id, document.id).collect()
    assert [c.content for c in chunks] == ["Version two of the handbook."]


@pytest.mark.relies_on(
    "PATCH documents/status/{action} disables, enables, archives and un-archives; "
    "DELETE removes a document (then 404). Dify 1.9.1 refuses a status change for a "
    "moment after indexing and after each change: 400 invalid_action 'is being indexed'"
)
async def test_document_status_and_delete(target: Target, cleanup, observe) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        docs = pulse.datasets.documents
        states = []
        for action in ("disable", "enable", "archive", "un_archive"):
            waited = await while_indexing(docs.update_status, kb.id, action, [document.id])
            if waited:
                observe(f"{action}: refused 'is being indexed' for {waited:.1f} s")
            (listed,) = await docs.list(kb.id).collect()
            states.append((listed.enabled, listed.archived))
        await docs.delete(kb.id, document.id)
        remaining = await docs.list(kb.id).collect()
        with pytest.raises(pa.NotFoundError):
            await docs.delete(kb.id, document.id)
    assert states == [(False, False), (True, False), (True, True), (True, False)]
    assert remaining == []


# --- chunks -----------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "segments: POST adds chunks, GET lists them, POST .../segments/{id} edits or disables "
    "one, DELETE removes it"
)
async def test_chunks(target: Target, cleanup) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        document = await indexed_document(pulse, kb)
        chunks = pulse.datasets.chunks
        new = await chunks.add(
            kb.id,
            document.id,
            ["Grate the parmesan.", {"content": "Keep pasta water.", "keywords": ["sauce"]}],
        )
        edited = await chunks.update(kb.id, document.id, new[0].id, content="Grate pecorino.")
        disabled = await chunks.update(kb.id, document.id, new[1].id, enabled=False)
        contents = {c.id: c.content for c in await chunks.list(kb.id, document.id).collect()}
        await chunks.delete(kb.id, document.id, new[1].id)
        after = {c.id for c in await chunks.list(kb.id, document.id).collect()}
    assert [c.content for c in new] == ["Grate the parmesan.", "Keep pasta water."]
    assert edited.content == "Grate pecorino." and disabled.enabled is False
    assert contents[new[0].id] == "Grate pecorino." and len(contents) == 5
    assert new[1].id not in after and len(after) == 4


# --- retrieval --------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "POST /datasets/{id}/retrieve with keyword_search finds a chunk by its words "
    "(score: a number per PulseAI, null on Dify 1.9.1)"
)
async def test_keyword_retrieval(target: Target, cleanup, observe) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        await indexed_document(pulse, kb)
        result = await pulse.datasets.retrieve(
            kb.id, "battery", search_method="keyword_search", top_k=2
        )
    assert result.records and "battery" in result.records[0].segment.content
    assert result.records[0].segment.document is not None
    observe(f"score {result.records[0].score!r}")
    assert all(r.score is None or 0 <= r.score <= 1 for r in result.records)


@pytest.mark.needs("plugin_daemon")
@pytest.mark.relies_on(
    "semantic search on an economy knowledge base is a 400: high_quality_dataset_only per "
    "PulseAI's documentation (a code Dify 1.9.1 does not have)"
)
async def test_semantic_search_on_an_economy_knowledge_base(
    target: Target, cleanup, observe
) -> None:
    async with target.client() as pulse:
        kb = await new_kb(target, pulse, cleanup)
        await indexed_document(pulse, kb)
        with pytest.raises(pa.BadRequestError) as caught:
            await pulse.datasets.retrieve(kb.id, "battery", search_method="semantic_search")
    observe(f"{type(caught.value).__name__} {caught.value.code}")
