"""Documents: create and update from text or a file, delete, list, path forms."""

from __future__ import annotations

import hashlib
import uuid
from pathlib import Path

import aiohttp
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import FAST_POLL, PARAGRAPHS, TRAVEL, indexed_document

pytestmark = pytest.mark.anyio


async def test_create_from_text_uses_the_underscore_path(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset = await pulse.datasets.create("Docs")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "notes.txt", "Some notes.", indexing_technique="economy", doc_form="text_model"
    )
    uuid.UUID(created.document.id)
    assert created.batch
    assert created.document.name == "notes.txt"
    assert created.document.indexing_status == "waiting"
    sent = emulator.requests[-1]
    assert sent.path == f"/datasets/{dataset.id}/document/create_by_text"
    assert sent.json() == {
        "name": "notes.txt",
        "text": "Some notes.",
        "indexing_technique": "economy",
        "doc_form": "text_model",
        "process_rule": {"mode": "automatic"},
    }


async def test_first_document_needs_an_indexing_technique(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("No technique yet")
    # Dify 1.9.1 wants it on every create_by_text (its pydantic 400), not only the first
    with pytest.raises(pa.InvalidParamError, match="indexing_technique"):
        await pulse.datasets.documents.create_from_text(dataset.id, "a.txt", "text")


async def test_unknown_dataset_is_not_found(pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.NotFoundError, match="Dataset not found"):
        await pulse.datasets.documents.create_from_text(
            str(uuid.uuid4()), "a.txt", "text", indexing_technique="economy"
        )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "", "text": "t"}, "name must not be empty"),
        ({"name": "n", "text": "  "}, "text must not be empty"),
        ({"name": "n", "text": "t", "doc_form": "pdf_model"}, "doc_form must be one of"),
        ({"name": "n", "text": "t", "indexing_technique": "fast"}, "indexing_technique"),
        ({"name": "n", "text": "t", "process_rule": {"mode": "smart"}}, "process_rule.mode"),
        (
            {"name": "n", "text": "t", "process_rule": pa.ProcessRule.custom(max_tokens=10)},
            "max_tokens must be an integer from 50 to 4000",
        ),
        (
            {"name": "n", "text": "t", "process_rule": pa.ProcessRule.custom(separator="")},
            "separator must be a non-empty string",
        ),
        ({"name": "n", "text": "t", "process_rule": {"mode": "custom"}}, "rules is required"),
    ],
)
async def test_bad_document_input_is_refused_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse, kwargs: dict, message: str
) -> None:
    dataset_id = str(uuid.uuid4())
    with pytest.raises(pa.PulseValidationError, match=message):
        await pulse.datasets.documents.create_from_text(dataset_id, **kwargs)
    assert emulator.requests == []


async def test_custom_process_rule_cuts_the_text_into_chunks(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    chunks = await pulse.datasets.chunks.list(dataset.id, document.id).collect()
    assert [chunk.content for chunk in chunks] == TRAVEL.split("\n\n")


async def test_create_from_a_several_megabyte_file_arrives_intact(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path: Path
) -> None:
    paragraphs = [
        f"Paragraph {index} token{index} " + "lorem ipsum dolor sit amet " * 40
        for index in range(5000)
    ]
    path = tmp_path / "handbook.txt"
    path.write_text("\n\n".join(paragraphs))
    size = path.stat().st_size
    assert size > 5 * 1024 * 1024
    created = await pulse.datasets.documents.create_from_file(
        dataset_id=(await pulse.datasets.create("Big", indexing_technique="economy")).id,
        file=path,
        process_rule=pa.ProcessRule.custom(separator="\n\n", max_tokens=500),
    )
    assert created.document.name == "handbook.txt"
    stored = emulator.knowledge.document(created.document.id)
    assert stored is not None and stored.file is not None
    assert len(stored.file.data) == size
    assert hashlib.sha256(stored.file.data).digest() == hashlib.sha256(path.read_bytes()).digest()
    assert stored.process_rule["rules"]["segmentation"]["separator"] == "\n\n"
    assert emulator.requests[-1].path.endswith("/document/create_by_file")
    final = await pulse.datasets.documents.wait_until_indexed(
        stored.dataset_id, created.batch, **FAST_POLL
    )
    assert final.total_segments == 5000


async def test_create_from_file_sends_its_settings_in_data(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset = await pulse.datasets.create("Settings", indexing_technique="high_quality")
    created = await pulse.datasets.documents.create_from_file(
        dataset.id,
        ("notes.txt", b"Venice is built on canals."),
        doc_form="qa_model",
        retrieval_model=pa.RetrievalModel(search_method="hybrid_search", top_k=2),
    )
    stored = emulator.knowledge.document(created.document.id)
    assert stored is not None and stored.doc_form == "qa_model"
    with pytest.raises(pa.PulseValidationError, match="search_method"):
        await pulse.datasets.documents.create_from_file(
            dataset.id, ("notes.txt", b"x"), retrieval_model={"search_method": "vector"}
        )
    assert emulator.hits(f"/datasets/{dataset.id}/document/create_by_file") == 1


async def test_create_from_bytes_and_file_object(pulse: pa.AsyncPulse, tmp_path: Path) -> None:
    dataset = await pulse.datasets.create("Inputs", indexing_technique="economy")
    from_bytes = await pulse.datasets.documents.create_from_file(
        dataset.id, ("faq.md", b"# FAQ\nShipping takes two days.")
    )
    path = tmp_path / "notes.txt"
    path.write_bytes(b"Returns are free within thirty days.")
    with path.open("rb") as handle:
        from_handle = await pulse.datasets.documents.create_from_file(dataset.id, handle)
    assert from_bytes.document.name == "faq.md"
    assert from_handle.document.name == "notes.txt"
    await pulse.datasets.documents.wait_until_indexed(dataset.id, from_handle.batch, **FAST_POLL)
    result = await pulse.datasets.retrieve(dataset.id, "returns free")
    assert result.records[0].segment.document is not None
    assert result.records[0].segment.document.name == "notes.txt"


async def test_file_input_is_checked_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse, tmp_path: Path
) -> None:
    dataset_id = str(uuid.uuid4())
    with pytest.raises(pa.PulseValidationError, match="no such file"):
        await pulse.datasets.documents.create_from_file(dataset_id, tmp_path / "missing.txt")
    with pytest.raises(pa.PulseValidationError, match="over the 4-byte limit"):
        await pulse.datasets.documents.create_from_file(
            dataset_id, ("a.txt", b"too long"), max_size=4
        )
    assert emulator.requests == []


async def test_update_with_text_renames_and_reindexes(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    updated = await pulse.datasets.documents.update_with_text(
        dataset.id, document.id, name="kyoto.txt", text="Kyoto is known for its temples."
    )
    assert updated.document.id == document.id
    assert updated.document.name == "kyoto.txt"
    assert updated.document.indexing_status == "waiting"
    await pulse.datasets.documents.wait_until_indexed(dataset.id, updated.batch, **FAST_POLL)
    chunks = await pulse.datasets.chunks.list(dataset.id, document.id).collect()
    assert [chunk.content for chunk in chunks] == ["Kyoto is known for its temples."]


async def test_update_with_text_can_only_rename(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    renamed = await pulse.datasets.documents.update_with_text(
        dataset.id, document.id, name="renamed.txt"
    )
    assert renamed.document.name == "renamed.txt"
    assert renamed.document.indexing_status == "completed"
    assert emulator.requests[-1].path.endswith(f"/documents/{document.id}/update_by_text")


async def test_update_with_text_needs_a_name_with_text(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    ids = (str(uuid.uuid4()), str(uuid.uuid4()))
    with pytest.raises(pa.PulseValidationError, match="name is required"):
        await pulse.datasets.documents.update_with_text(*ids, text="new text")
    with pytest.raises(pa.PulseValidationError, match="nothing to update"):
        await pulse.datasets.documents.update_with_text(*ids)
    assert emulator.requests == []


async def test_update_with_file_replaces_the_content(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset, document = await indexed_document(pulse)
    updated = await pulse.datasets.documents.update_with_file(
        dataset.id, document.id, ("lisbon.md", b"Lisbon is the capital of Portugal.")
    )
    assert updated.document.name == "lisbon.md"
    assert emulator.requests[-1].path.endswith(f"/documents/{document.id}/update_by_file")
    await pulse.datasets.documents.wait_until_indexed(dataset.id, updated.batch, **FAST_POLL)
    result = await pulse.datasets.retrieve(dataset.id, "Portugal")
    assert [r.content for r in result.records] == ["Lisbon is the capital of Portugal."]


async def test_update_while_indexing_is_refused(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.indexing_delay = 5.0
    dataset = await pulse.datasets.create("Slow", indexing_technique="economy")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "a.txt", "text", indexing_technique="economy"
    )
    emulator.knowledge.document(created.document.id).started -= 6.0  # now in "parsing"
    with pytest.raises(pa.DocumentIndexingError) as caught:
        await pulse.datasets.documents.update_with_text(dataset.id, created.document.id, name="b")
    assert caught.value.status == 400


@pytest.mark.parametrize("style", [200, 204])
async def test_delete_accepts_both_server_styles(emulator: Emulator, style: int) -> None:
    emulator.delete_style = style
    async with emulator.client() as pulse:
        dataset, document = await indexed_document(pulse)
        assert await pulse.datasets.documents.delete(dataset.id, document.id) is None
        assert await pulse.datasets.documents.list(dataset.id).collect() == []
        with pytest.raises(pa.NotFoundError, match="Document Not Exists"):
            await pulse.datasets.documents.delete(dataset.id, document.id)


async def test_delete_during_indexing_is_a_typed_error(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 5.0
    dataset = await pulse.datasets.create("Busy", indexing_technique="economy")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "a.txt", "text", indexing_technique="economy"
    )
    emulator.knowledge.document(created.document.id).started -= 21.0  # now in "indexing"
    with pytest.raises(pa.DocumentIndexingError, match="during indexing") as caught:
        await pulse.datasets.documents.delete(dataset.id, created.document.id)
    assert caught.value.code == "document_indexing"


async def test_list_pages_filters_and_statuses(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("Many", indexing_technique="economy")
    for index in range(5):
        created = await pulse.datasets.documents.create_from_text(
            dataset.id, f"doc-{index}.txt", f"Body {index}", indexing_technique="economy"
        )
    await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
    emulator.requests.clear()
    documents = await pulse.datasets.documents.list(dataset.id, limit=2).collect()
    assert [d.name for d in documents] == [f"doc-{index}.txt" for index in range(5)]
    assert emulator.hits(f"/datasets/{dataset.id}/documents", "GET") == 3
    assert all(d.display_status == "available" for d in documents)
    only = await pulse.datasets.documents.list(dataset.id, keyword="doc-3").collect()
    assert [d.name for d in only] == ["doc-3.txt"]
    errors = await pulse.datasets.documents.list(dataset.id, status="error").collect()
    assert errors == []
    with pytest.raises(pa.PulseValidationError, match="status must be one of"):
        pulse.datasets.documents.list(dataset.id, status="done")
    with pytest.raises(pa.PulseValidationError, match="limit"):
        pulse.datasets.documents.list(dataset.id, limit=101)


async def test_update_status_disables_and_archives(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    await pulse.datasets.documents.update_status(dataset.id, "disable", [document.id])
    [listed] = await pulse.datasets.documents.list(dataset.id).collect()
    assert listed.enabled is False
    assert listed.display_status == "disabled"
    assert (await pulse.datasets.retrieve(dataset.id, "Paris")).records == []
    await pulse.datasets.documents.update_status(dataset.id, "enable", [document.id])
    await pulse.datasets.documents.update_status(dataset.id, "archive", [document.id])
    [listed] = await pulse.datasets.documents.list(dataset.id).collect()
    assert listed.archived is True
    with pytest.raises(pa.PulseValidationError, match="action must be one of"):
        await pulse.datasets.documents.update_status(dataset.id, "pause", [document.id])


# --- path forms across server versions ------------------------------------------------


async def test_emulator_serves_the_hyphenated_paths_too(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset = await pulse.datasets.create("Hyphens", indexing_technique="economy")
    created = await pulse.request(
        "POST",
        f"/datasets/{dataset.id}/document/create-by-text",
        json={"name": "h.txt", "text": "hyphen path", "indexing_technique": "economy"},
        scope="knowledge",
    )
    document_id = created["document"]["id"]
    await pulse.datasets.documents.wait_until_indexed(dataset.id, created["batch"], **FAST_POLL)
    updated = await pulse.request(
        "POST",
        f"/datasets/{dataset.id}/documents/{document_id}/update-by-text",
        json={"name": "h2.txt"},
        scope="knowledge",
    )
    assert updated["document"]["name"] == "h2.txt"
    # The newest servers update by file with PATCH on the document itself.
    form = aiohttp.FormData()
    form.add_field("data", '{"name": "patched.txt"}')
    form.add_field("file", b"patched body", filename="patched.txt")
    headers = {"Authorization": f"Bearer {emulator.knowledge_api_key}"}
    url = f"{emulator.base_url}/datasets/{dataset.id}/documents/{document_id}"
    async with (
        aiohttp.ClientSession() as session,
        session.patch(url, data=form, headers=headers) as response,
    ):
        assert response.status == 200
        body = await response.json()
    assert body["document"]["name"] == "patched.txt"


async def test_sdk_works_on_an_old_server_that_knows_only_underscores() -> None:
    legacy = Emulator(knowledge_legacy=True, delete_style=200)
    async with legacy as emulator, emulator.client() as pulse:
        dataset = await pulse.datasets.create("Old server", indexing_technique="economy")
        with pytest.raises(pa.NotFoundError):
            await pulse.request(
                "POST",
                f"/datasets/{dataset.id}/document/create-by-text",
                json={"name": "x", "text": "y"},
                scope="knowledge",
            )
        created = await pulse.datasets.documents.create_from_text(
            dataset.id, "old.txt", TRAVEL, indexing_technique="economy", process_rule=PARAGRAPHS
        )
        await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
        updated = await pulse.datasets.documents.update_with_file(
            dataset.id, created.document.id, ("new.txt", b"Rome has the Colosseum.")
        )
        await pulse.datasets.documents.wait_until_indexed(dataset.id, updated.batch, **FAST_POLL)
        result = await pulse.datasets.retrieve(dataset.id, "Colosseum")
        assert result.records[0].content == "Rome has the Colosseum."
        await pulse.datasets.documents.delete(dataset.id, created.document.id)
        await pulse.datasets.delete(dataset.id)
