"""Knowledge bases: create, list (paged), delete, and the knowledge key scope."""

from __future__ import annotations

import uuid

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def test_create_returns_a_typed_knowledge_base(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create(
        "Product manuals",
        description="Specs and FAQs",
        indexing_technique="economy",
        permission="all_team_members",
    )
    uuid.UUID(dataset.id)
    assert dataset.name == "Product manuals"
    assert dataset.description == "Specs and FAQs"
    assert dataset.indexing_technique == "economy"
    assert dataset.permission == "all_team_members"
    assert dataset.document_count == 0


async def test_create_sends_the_options_as_json(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    await pulse.datasets.create(
        "Tuned", retrieval_model=pa.RetrievalModel(search_method="keyword_search", top_k=3)
    )
    sent = emulator.requests[-1].json()
    assert sent == {
        "name": "Tuned",
        "retrieval_model": {
            "search_method": "keyword_search",
            "reranking_enable": False,
            "top_k": 3,
            "score_threshold_enabled": False,
        },
    }


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "name must not be empty"),
        ({"name": "x" * 41}, "at most 40 characters"),
        ({"name": "ok", "indexing_technique": "best"}, "indexing_technique must be one of"),
        ({"name": "ok", "permission": "everyone"}, "permission must be one of"),
        ({"name": "ok", "description": "d" * 401}, "at most 400 characters"),
        ({"name": "ok", "retrieval_model": {"search_method": "fuzzy"}}, "search_method"),
    ],
)
async def test_bad_input_is_refused_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse, kwargs: dict, message: str
) -> None:
    with pytest.raises(pa.PulseValidationError, match=message):
        await pulse.datasets.create(**kwargs)
    assert emulator.requests == []


async def test_name_of_40_characters_is_accepted(pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("n" * 40)
    assert dataset.name == "n" * 40


async def test_duplicate_name_is_a_typed_conflict(pulse: pa.AsyncPulse) -> None:
    await pulse.datasets.create("Twice")
    with pytest.raises(pa.DatasetNameDuplicateError) as caught:
        await pulse.datasets.create("Twice")
    assert caught.value.status == 409
    assert caught.value.code == "dataset_name_duplicate"
    assert isinstance(caught.value, pa.ConflictError)


async def test_list_iterates_every_page(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    for index in range(5):
        await pulse.datasets.create(f"kb-{index}")
    names = [dataset.name async for dataset in pulse.datasets.list(limit=2)]
    assert sorted(names) == [f"kb-{index}" for index in range(5)]
    assert emulator.hits("/datasets", "GET") == 3
    assert [r.query["page"] for r in emulator.requests if r.method == "GET"] == ["1", "2", "3"]


async def test_list_pages_and_keyword(pulse: pa.AsyncPulse) -> None:
    for name in ("alpha docs", "beta docs", "gamma"):
        await pulse.datasets.create(name)
    page = await pulse.datasets.list(keyword="docs", limit=1).first_page()
    assert len(page) == 1
    assert page.has_more
    matching = await pulse.datasets.list(keyword="docs").collect()
    assert sorted(d.name for d in matching) == ["alpha docs", "beta docs"]


async def test_list_stops_despite_the_old_has_more_bug() -> None:
    # Old servers answer has_more=true on an exactly full last page; the total says no.
    async with Emulator(knowledge_legacy=True) as emulator, emulator.client() as pulse:
        for index in range(4):
            await pulse.datasets.create(f"kb-{index}")
        last = await pulse.request(
            "GET", "/datasets", params={"page": 2, "limit": 2}, scope="knowledge"
        )
        assert last["has_more"] is True
        emulator.requests.clear()
        listed = await pulse.datasets.list(limit=2).collect()
        assert len(listed) == 4
        assert emulator.hits("/datasets", "GET") == 2


async def test_list_of_nothing_is_empty(pulse: pa.AsyncPulse) -> None:
    assert await pulse.datasets.list().collect() == []


@pytest.mark.parametrize("style", [200, 204])
async def test_delete_accepts_both_server_styles(emulator: Emulator, style: int) -> None:
    emulator.delete_style = style
    async with emulator.client() as pulse:
        dataset = await pulse.datasets.create("Short-lived")
        assert await pulse.datasets.delete(dataset.id) is None
        assert await pulse.datasets.list().collect() == []
        with pytest.raises(pa.NotFoundError):
            await pulse.datasets.delete(dataset.id)


async def test_delete_in_use_is_a_typed_conflict(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    dataset = await pulse.datasets.create("Used by an app")
    emulator.knowledge.attach_app(dataset.id)
    with pytest.raises(pa.DatasetInUseError) as caught:
        await pulse.datasets.delete(dataset.id)
    assert caught.value.status == 409
    assert [d.id async for d in pulse.datasets.list()] == [dataset.id]


async def test_delete_checks_the_id_first(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.PulseValidationError, match="dataset_id must be a UUID"):
        await pulse.datasets.delete("../conversations")
    assert emulator.requests == []


# --- the two key scopes ---------------------------------------------------------------


async def test_both_scopes_share_one_connection_pool(emulator: Emulator) -> None:
    async with emulator.client() as pulse:
        await pulse.chat.send("hello", user="u1")
        connector = pulse.connector
        dataset = await pulse.datasets.create("Shared pool")
        await pulse.chat.send("again", user="u1")
        assert pulse.connector is connector
        assert dataset.name == "Shared pool"
    # The emulator checks each scope's key: each request carried the right one.
    assert [r.path for r in emulator.requests] == ["/chat-messages", "/datasets", "/chat-messages"]


async def test_knowledge_key_comes_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULSEAI_KNOWLEDGE_API_KEY", emulator.knowledge_api_key)
    monkeypatch.delenv("PULSEAI_API_KEY", raising=False)
    async with pa.AsyncPulse(base_url=emulator.base_url) as pulse:
        dataset = await pulse.datasets.create("From env")
        assert dataset.name == "From env"
        with pytest.raises(pa.PulseValidationError, match="app API key"):
            await pulse.chat.send("hi", user="u")
        assert emulator.knowledge_api_key not in repr(pulse)


async def test_missing_knowledge_key_is_refused_before_sending(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PULSEAI_KNOWLEDGE_API_KEY", raising=False)
    async with pa.AsyncPulse(emulator.api_key, base_url=emulator.base_url) as pulse:
        with pytest.raises(pa.PulseValidationError, match="PULSEAI_KNOWLEDGE_API_KEY"):
            await pulse.datasets.create("No key")
    assert emulator.requests == []


async def test_app_key_is_rejected_on_knowledge_endpoints(emulator: Emulator) -> None:
    async with emulator.client(knowledge_api_key=emulator.api_key) as pulse:
        with pytest.raises(pa.AuthenticationError) as caught:
            await pulse.datasets.create("Wrong scope")
    assert caught.value.status == 401
    assert emulator.api_key not in str(caught.value)
    assert all("authorization" not in {k.lower() for k in r.headers} for r in emulator.requests)
