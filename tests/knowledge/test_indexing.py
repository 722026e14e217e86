"""Indexing status, and following it to the end with progress, failure and timeout."""

from __future__ import annotations

import itertools
import uuid

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

from .conftest import FAST_POLL, PARAGRAPHS, TRAVEL

pytestmark = pytest.mark.anyio

STEPS = ["waiting", "parsing", "cleaning", "splitting", "indexing", "completed"]


async def _start(pulse: pa.AsyncPulse, text: str = TRAVEL) -> tuple[str, pa.DocumentBatch]:
    dataset = await pulse.datasets.create("Indexing", indexing_technique="high_quality")
    created = await pulse.datasets.documents.create_from_text(
        dataset.id, "doc.txt", text, indexing_technique="high_quality", process_rule=PARAGRAPHS
    )
    return dataset.id, created


def _assert_orderly(snapshots: list[pa.IndexingProgress], total: int) -> None:
    assert len(snapshots) >= 2
    completed = [s.completed_segments for s in snapshots]
    assert completed == sorted(completed), completed
    ranks = [STEPS.index(s.status) for s in snapshots]
    assert ranks == sorted(ranks), [s.status for s in snapshots]
    assert snapshots[-1].status == "completed"
    assert snapshots[-1].completed_segments == snapshots[-1].total_segments == total
    assert snapshots[-1].fraction == 1.0


async def test_wait_until_indexed_reports_progress_to_completion(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 0.2
    dataset_id, created = await _start(pulse)
    seen: list[pa.IndexingProgress] = []
    final = await pulse.datasets.documents.wait_until_indexed(
        dataset_id, created.batch, on_progress=seen.append, poll_interval=0.02, max_interval=0.1
    )
    _assert_orderly(seen, total=4)
    assert final is seen[-1]
    assert final.documents[0].id == created.document.id
    assert final.documents[0].completed_at is not None
    [listed] = await pulse.datasets.documents.list(dataset_id).collect()
    assert listed.indexing_status == "completed"


async def test_progress_callback_may_be_a_coroutine(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 0.1
    dataset_id, created = await _start(pulse)
    fractions: list[float] = []

    async def report(progress: pa.IndexingProgress) -> None:
        fractions.append(progress.fraction)

    await pulse.datasets.documents.wait_until_indexed(
        dataset_id, created.batch, on_progress=report, poll_interval=0.02, max_interval=0.05
    )
    assert fractions == sorted(fractions)
    assert fractions[0] < 1.0
    assert fractions[-1] == 1.0


async def test_watch_indexing_is_an_async_iterator(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 0.2
    dataset_id, created = await _start(pulse)
    snapshots = [
        progress
        async for progress in pulse.datasets.documents.watch_indexing(
            dataset_id, created.batch, poll_interval=0.02, max_interval=0.1
        )
    ]
    _assert_orderly(snapshots, total=4)


async def test_polling_backs_off(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.indexing_delay = 0.3
    dataset_id, created = await _start(pulse)
    await pulse.datasets.documents.wait_until_indexed(
        dataset_id, created.batch, poll_interval=0.01, max_interval=0.4
    )
    path = f"/datasets/{dataset_id}/documents/{created.batch}/indexing-status"
    times = [r.time for r in emulator.requests if r.path == path]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # 1.8 s of indexing at a fixed 10 ms would be ~180 polls; backoff keeps it to a few.
    assert 2 <= len(times) <= 15
    assert gaps[-1] > gaps[0]


async def test_indexing_status_walks_through_every_step(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.indexing_delay = 100.0
    dataset_id, created = await _start(pulse)
    stored = emulator.knowledge.document(created.document.id)
    assert stored is not None
    seen = []
    created_at = stored.started
    for elapsed_steps in (0, 1, 2, 3, 4, 4.5, 5.5, 6):
        stored.started = created_at - elapsed_steps * 100.0  # as if that much time passed
        [status] = await pulse.datasets.documents.indexing_status(dataset_id, created.batch)
        seen.append((status.indexing_status, status.completed_segments, status.total_segments))
    assert seen == [
        ("waiting", 0, 0),
        ("parsing", 0, 0),
        ("cleaning", 0, 0),
        ("splitting", 0, 0),
        ("indexing", 0, 4),
        ("indexing", 1, 4),
        ("indexing", 3, 4),
        ("completed", 4, 4),
    ]


async def test_error_status_raises_indexing_failed(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    dataset = await pulse.datasets.create("Broken", indexing_technique="economy")
    created = await pulse.datasets.documents.create_from_file(dataset.id, ("empty.txt", b""))
    with pytest.raises(pa.IndexingFailedError, match="empty") as caught:
        await pulse.datasets.documents.wait_until_indexed(dataset.id, created.batch, **FAST_POLL)
    assert caught.value.document_id == created.document.id
    assert caught.value.error is not None
    [status] = await pulse.datasets.documents.indexing_status(dataset.id, created.batch)
    assert status.indexing_status == "error"
    [listed] = await pulse.datasets.documents.list(dataset.id, status="error").collect()
    assert listed.id == created.document.id


async def test_timeout_is_a_typed_timeout_error(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.indexing_delay = 60.0
    dataset_id, created = await _start(pulse)
    with pytest.raises(pa.IndexingTimeoutError, match=r"did not finish within 0\.3 s") as caught:
        await pulse.datasets.documents.wait_until_indexed(
            dataset_id, created.batch, timeout=0.3, poll_interval=0.02, max_interval=0.05
        )
    assert isinstance(caught.value, TimeoutError)
    assert caught.value.last is not None
    assert caught.value.last.status == "waiting"


async def test_watch_indexing_times_out_too(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.indexing_delay = 60.0
    dataset_id, created = await _start(pulse)
    seen: list[pa.IndexingProgress] = []

    async def follow() -> None:
        async for progress in pulse.datasets.documents.watch_indexing(
            dataset_id, created.batch, timeout=0.2, poll_interval=0.02, max_interval=0.05
        ):
            seen.append(progress)

    with pytest.raises(pa.IndexingTimeoutError):
        await follow()
    assert seen
    assert all(progress.status == "waiting" for progress in seen)


async def test_unknown_batch_is_not_found(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("No batch")
    with pytest.raises(pa.NotFoundError, match="Documents not found"):
        await pulse.datasets.documents.wait_until_indexed(dataset.id, "20250101000000123456")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"poll_interval": 0}, "poll_interval must be positive"),
        ({"timeout": -1}, "timeout must be positive"),
        ({"poll_interval": 2.0, "max_interval": 1.0}, "max_interval"),
    ],
)
async def test_bad_polling_settings_are_refused(
    emulator: Emulator, pulse: pa.AsyncPulse, kwargs: dict, message: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match=message):
        await pulse.datasets.documents.wait_until_indexed(str(uuid.uuid4()), "b", **kwargs)
    assert emulator.requests == []


@pytest.mark.parametrize("batch", ["../../datasets", "a/b", "x?y=1", ".."])
async def test_a_batch_that_would_change_the_path_is_refused(
    emulator: Emulator, pulse: pa.AsyncPulse, batch: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match="batch must be"):
        await pulse.datasets.documents.indexing_status(str(uuid.uuid4()), batch)
    with pytest.raises(pa.PulseValidationError, match="batch must be"):
        await pulse.datasets.documents.wait_until_indexed(str(uuid.uuid4()), batch)
    assert emulator.requests == []
