"""Every Knowledge error code reaches the caller as its own typed exception."""

from __future__ import annotations

import uuid

import aiohttp
import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import indexed_document

pytestmark = pytest.mark.anyio

KNOWLEDGE_CODES = [
    (400, "no_file_uploaded", pa.NoFileUploadedError),
    (400, "too_many_files", pa.TooManyFilesError),
    (400, "filename_not_exists_error", pa.FilenameNotExistsError),
    (413, "file_too_large", pa.FileTooLargeError),
    (415, "unsupported_file_type", pa.UnsupportedFileTypeError),
    (400, "high_quality_dataset_only", pa.HighQualityDatasetOnlyError),
    (400, "dataset_not_initialized", pa.DatasetNotInitializedError),
    (400, "invalid_action", pa.InvalidActionError),
    (400, "document_already_finished", pa.DocumentAlreadyFinishedError),
    (400, "document_indexing", pa.DocumentIndexingError),
    (400, "invalid_metadata", pa.InvalidMetadataError),
    (400, "invalid_param", pa.InvalidParamError),
    (400, "provider_not_initialize", pa.ProviderNotInitializeError),
    (403, "archived_document_immutable", pa.ArchivedDocumentImmutableError),
    (403, "forbidden", pa.PermissionDeniedError),
    (404, "not_found", pa.NotFoundError),
    (409, "dataset_name_duplicate", pa.DatasetNameDuplicateError),
    (409, "dataset_in_use", pa.DatasetInUseError),
]


@pytest.mark.pulseai_emulator(request_ids=True)  # Dify 1.9.1 sends no request id
@pytest.mark.parametrize(("status", "code", "cls"), KNOWLEDGE_CODES)
async def test_each_code_maps_to_its_class(
    emulator: Emulator, pulse: pa.AsyncPulse, status: int, code: str, cls: type
) -> None:
    dataset_id = str(uuid.uuid4())
    emulator.faults.add(
        path=f"/datasets/{dataset_id}/document/create_by_file",
        status=status,
        code=code,
        message=f"scripted {code}",
    )
    with pytest.raises(cls) as caught:
        await pulse.datasets.documents.create_from_file(dataset_id, ("a.txt", b"body"))
    error = caught.value
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, f"scripted {code}")
    assert error.request_id
    assert emulator.knowledge_api_key not in str(error)


async def test_a_code_with_another_status_keeps_the_status_class(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.faults.add(path="/datasets", status=400, code="dataset_name_duplicate")
    with pytest.raises(pa.BadRequestError) as caught:
        await pulse.datasets.create("Odd server")
    assert not isinstance(caught.value, pa.DatasetNameDuplicateError)


async def test_knowledge_errors_are_not_retried(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    await pulse.datasets.create("Once")
    with pytest.raises(pa.DatasetNameDuplicateError):
        await pulse.datasets.create("Once")
    assert emulator.hits("/datasets", "POST") == 2


# --- the emulator reaches each code through the API itself ----------------------------


async def test_file_too_large(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.knowledge_max_file_size = 1000
    dataset = await pulse.datasets.create("Small files", indexing_technique="economy")
    with pytest.raises(pa.FileTooLargeError, match="File size exceeded") as caught:
        await pulse.datasets.documents.create_from_file(dataset.id, ("big.txt", b"x" * 1001))
    assert caught.value.status == 413


async def test_unsupported_file_type(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("Types", indexing_technique="economy")
    with pytest.raises(pa.UnsupportedFileTypeError) as caught:
        await pulse.datasets.documents.create_from_file(dataset.id, ("tool.exe", b"MZ\x90\x00"))
    assert (caught.value.status, caught.value.code) == (415, "unsupported_file_type")


async def _raw_upload(
    emulator: Emulator,
    dataset_id: str,
    form: aiohttp.FormData | bytes,
    content_type: str | None = None,
) -> dict:
    headers = {"Authorization": f"Bearer {emulator.knowledge_api_key}"}
    if content_type is not None:
        headers["Content-Type"] = content_type
    url = f"{emulator.base_url}/datasets/{dataset_id}/document/create_by_file"
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=form, headers=headers) as response,
    ):
        body = await response.json()
        assert body["status"] == response.status
        return body


async def test_upload_form_errors_from_the_emulator(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset = await pulse.datasets.create("Forms", indexing_technique="economy")
    no_file = aiohttp.FormData()
    no_file.add_field("data", "{}")
    no_file.add_field("other", b"x", filename="x.txt")
    assert (await _raw_upload(emulator, dataset.id, no_file))["code"] == "no_file_uploaded"
    two_files = aiohttp.FormData()
    two_files.add_field("file", b"a", filename="a.txt")
    two_files.add_field("file", b"b", filename="b.txt")
    assert (await _raw_upload(emulator, dataset.id, two_files))["code"] == "too_many_files"
    # aiohttp percent-encodes names, so write this part by hand: filename="".
    nameless = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
        b"Content-Type: text/plain\r\n\r\na\r\n--B--\r\n"
    )
    body = await _raw_upload(emulator, dataset.id, nameless, "multipart/form-data; boundary=B")
    assert body["code"] == "filename_not_exists_error"
    bad_data = aiohttp.FormData()
    bad_data.add_field("data", "not json")
    bad_data.add_field("file", b"a", filename="a.txt")
    body = await _raw_upload(emulator, dataset.id, bad_data)
    assert (body["code"], body["message"]) == ("invalid_param", "data must be a JSON object.")


async def test_archived_documents_are_immutable(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    await pulse.datasets.documents.update_status(dataset.id, "archive", [document.id])
    with pytest.raises(pa.ArchivedDocumentImmutableError) as caught:
        await pulse.datasets.documents.delete(dataset.id, document.id)
    assert (caught.value.status, caught.value.code) == (403, "archived_document_immutable")
    with pytest.raises(pa.ArchivedDocumentImmutableError):
        await pulse.datasets.documents.update_with_text(dataset.id, document.id, name="new")
    with pytest.raises(pa.ArchivedDocumentImmutableError):
        await pulse.datasets.chunks.add(dataset.id, document.id, ["more"])
    await pulse.datasets.documents.update_status(dataset.id, "un_archive", [document.id])
    await pulse.datasets.documents.delete(dataset.id, document.id)


async def test_invalid_action(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    with pytest.raises(pa.InvalidActionError, match="not archived"):
        await pulse.datasets.documents.update_status(dataset.id, "un_archive", [document.id])
    # An action the SDK would refuse, sent through the generic escape hatch.
    with pytest.raises(pa.InvalidActionError) as caught:
        await pulse.request(
            "PATCH",
            f"/datasets/{dataset.id}/documents/status/pause",
            json={"document_ids": [document.id]},
            scope="knowledge",
        )
    assert (caught.value.status, caught.value.code) == (400, "invalid_action")


async def test_missing_things_are_not_found(pulse: pa.AsyncPulse) -> None:
    dataset, document = await indexed_document(pulse)
    missing = str(uuid.uuid4())
    with pytest.raises(pa.NotFoundError, match="Document not found"):
        await pulse.datasets.documents.update_with_text(dataset.id, missing, name="x")
    with pytest.raises(pa.NotFoundError, match="Segment not found"):
        await pulse.datasets.chunks.update(dataset.id, document.id, missing, content="x")
    with pytest.raises(pa.NotFoundError, match="Dataset not found"):
        await pulse.datasets.documents.list(missing).collect()
