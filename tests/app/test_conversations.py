"""Get Conversations, history messages, rename and delete against the emulator."""

import uuid

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def _conversations(pulse: pa.AsyncPulse, user: str, count: int) -> list[str]:
    """Start `count` conversations; ids in creation order."""
    return [
        (await pulse.chat.send(f"question {index}", user=user)).conversation_id
        for index in range(count)
    ]


async def _conversation_with(pulse: pa.AsyncPulse, user: str, count: int) -> tuple[str, list[str]]:
    """One conversation with `count` turns; its id and message ids oldest first."""
    first = await pulse.chat.send("turn 0", user=user)
    ids = [first.message_id]
    for index in range(1, count):
        reply = await pulse.chat.send(
            f"turn {index}", user=user, conversation_id=first.conversation_id
        )
        ids.append(reply.message_id)
    return first.conversation_id, ids


async def test_listing_pages_on_demand_across_three_pages(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    created = await _conversations(pulse, "alice", 7)
    await _conversations(pulse, "bob", 2)

    pager = pulse.conversations.list(user="alice", limit=3)
    assert emulator.hits("/conversations") == 0  # nothing is sent before iterating

    seen: list[pa.Conversation] = []
    async for conversation in pager:
        seen.append(conversation)
        if len(seen) == 1:
            assert emulator.hits("/conversations") == 1  # only the first page so far
    ids = [c.id for c in seen]
    assert ids == created[::-1]  # default sort: most recently updated first
    assert len(set(ids)) == len(ids)
    assert emulator.hits("/conversations") == 3
    cursors = [r.query.get("last_id") for r in emulator.requests if r.path == "/conversations"]
    assert cursors == [None, ids[2], ids[5]]
    assert seen[0].name == "question 6"
    assert seen[0].status == "normal"


async def test_sort_by_and_page_level_access(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    created = await _conversations(pulse, "u", 5)
    oldest = [c.id async for c in pulse.conversations.list(user="u", sort_by="created_at")]
    assert oldest == created

    page = await pulse.conversations.list(user="u", limit=2, sort_by="created_at").first_page()
    assert [c.id for c in page] == created[:2]
    assert page.has_more
    assert page.next_cursor == created[1]
    resumed = pulse.conversations.list(
        user="u", limit=2, sort_by="created_at", last_id=page.next_cursor
    )
    sizes = [len(p) async for p in resumed.pages()]
    assert sizes == [2, 1]

    last = await pulse.conversations.list(user="u", limit=5).first_page()
    assert len(last) == 5
    assert not last.has_more


async def test_a_new_message_moves_a_conversation_to_the_top(pulse: pa.AsyncPulse) -> None:
    created = await _conversations(pulse, "u", 3)
    await pulse.chat.send("again", user="u", conversation_id=created[0])
    ids = [c.id async for c in pulse.conversations.list(user="u")]
    assert ids == [created[0], created[2], created[1]]


async def test_an_unknown_last_id_is_not_found(pulse: pa.AsyncPulse) -> None:
    await _conversations(pulse, "u", 1)
    with pytest.raises(pa.NotFoundError) as caught:
        await pulse.conversations.list(user="u", last_id=str(uuid.uuid4())).first_page()
    # Dify 1.9.1 appends flask-restx's "You have requested this URI [...]" help
    assert caught.value.message.startswith("Last Conversation Not Exists.")


async def test_bad_listing_arguments_fail_before_sending(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    for limit in (0, 101, "20", True):
        with pytest.raises(pa.PulseValidationError, match="limit"):
            pulse.conversations.list(user="u", limit=limit)  # type: ignore[arg-type]
    with pytest.raises(pa.PulseValidationError, match="sort_by"):
        pulse.conversations.list(user="u", sort_by="name")  # type: ignore[arg-type]
    with pytest.raises(pa.PulseValidationError, match="user"):
        pulse.conversations.list(user=" ")
    with pytest.raises(pa.PulseValidationError, match="order"):
        pulse.conversations.messages(str(uuid.uuid4()), user="u", order="asc")  # type: ignore[arg-type]
    assert emulator.requests == []


async def test_history_newest_first_across_three_pages(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    conversation_id, message_ids = await _conversation_with(pulse, "u", 8)

    history = pulse.conversations.messages(conversation_id, user="u", limit=3)
    seen = [m async for m in history]

    assert [m.id for m in seen] == message_ids[::-1]
    assert [m.query for m in seen[:2]] == ["turn 7", "turn 6"]
    assert emulator.hits("/messages") == 3
    cursors = [r.query.get("first_id") for r in emulator.requests if r.path == "/messages"]
    # Each next page starts before the oldest message of the one before.
    assert cursors == [None, message_ids[5], message_ids[2]]


async def test_history_pages_and_the_wire_order(pulse: pa.AsyncPulse) -> None:
    conversation_id, message_ids = await _conversation_with(pulse, "u", 7)
    history = pulse.conversations.messages(conversation_id, user="u", limit=3)
    pages = [p async for p in history.pages()]
    assert [[m.id for m in p] for p in pages] == [
        message_ids[6:3:-1],
        message_ids[3:0:-1],
        message_ids[0:1],
    ]
    assert [p.has_more for p in pages] == [True, True, False]
    # On the wire a page is oldest-first; `raw` keeps the server's answer.
    assert [m.id for m in pages[0].raw.data] == message_ids[4:7]


async def test_history_oldest_first(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    conversation_id, message_ids = await _conversation_with(pulse, "u", 7)
    history = pulse.conversations.messages(conversation_id, user="u", limit=3, order="oldest_first")
    assert [m.id async for m in history] == message_ids
    pages = [[m.id for m in p] async for p in history.pages()]
    assert pages == [message_ids[0:1], message_ids[1:4], message_ids[4:7]]
    first = await history.first_page()
    assert [m.id for m in first] == message_ids[0:1]


async def test_history_from_a_message_back(pulse: pa.AsyncPulse) -> None:
    conversation_id, message_ids = await _conversation_with(pulse, "u", 5)
    older = pulse.conversations.messages(conversation_id, user="u", first_id=message_ids[3])
    assert [m.id async for m in older] == message_ids[2::-1]


async def test_history_errors(pulse: pa.AsyncPulse) -> None:
    conversation_id, _ = await _conversation_with(pulse, "u", 2)
    with pytest.raises(pa.NotFoundError) as caught:
        await pulse.conversations.messages(
            conversation_id, user="u", first_id=str(uuid.uuid4())
        ).first_page()
    assert caught.value.message.startswith("First Message Not Exists.")  # + flask-restx help
    with pytest.raises(pa.ConversationNotFoundError):
        await pulse.conversations.messages(conversation_id, user="someone else").first_page()
    with pytest.raises(pa.ConversationNotFoundError):
        await pulse.conversations.messages(str(uuid.uuid4()), user="u").first_page()


async def test_rename_with_a_name_or_generated(pulse: pa.AsyncPulse) -> None:
    created = await _conversations(pulse, "u", 2)
    renamed = await pulse.conversations.rename(created[0], "Trip planning", user="u")
    assert isinstance(renamed, pa.Conversation)
    assert (renamed.id, renamed.name) == (created[0], "Trip planning")
    listed = [c async for c in pulse.conversations.list(user="u")]
    assert listed[0].id == created[0]  # renaming counts as activity
    assert listed[0].name == "Trip planning"

    generated = await pulse.conversations.rename(created[1], user="u", auto_generate=True)
    assert generated.name == "question 1"


async def test_rename_errors(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    conversation_id = (await _conversations(pulse, "u", 1))[0]
    before = len(emulator.requests)
    with pytest.raises(pa.PulseValidationError, match="name"):
        await pulse.conversations.rename(conversation_id, user="u")
    with pytest.raises(pa.PulseValidationError, match="not both"):
        await pulse.conversations.rename(conversation_id, "x", user="u", auto_generate=True)
    assert len(emulator.requests) == before
    with pytest.raises(pa.ConversationNotFoundError):
        await pulse.conversations.rename(str(uuid.uuid4()), "x", user="u")


async def test_deleted_conversations_leave_the_listing(pulse: pa.AsyncPulse) -> None:
    created = await _conversations(pulse, "u", 3)
    await pulse.conversations.delete(created[1], user="u")
    assert [c.id async for c in pulse.conversations.list(user="u")] == [created[2], created[0]]
