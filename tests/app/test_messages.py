"""Message Feedback, Next Suggested Questions and Stop Generate against the emulator."""

import uuid

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def _history(pulse: pa.AsyncPulse, conversation_id: str) -> list[pa.HistoryMessage]:
    return [m async for m in pulse.conversations.messages(conversation_id, user="u")]


async def test_like_dislike_and_revoke(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    reply = await pulse.chat.send("Is the sky blue?", user="u")

    await pulse.messages.feedback(reply.message_id, "like", user="u", content="Spot on")
    sent = emulator.requests[-1]
    assert sent.path == f"/messages/{reply.message_id}/feedbacks"
    assert sent.json() == {"rating": "like", "user": "u", "content": "Spot on"}
    (message,) = await _history(pulse, reply.conversation_id)
    assert message.feedback is not None and message.feedback.rating == "like"

    await pulse.messages.feedback(reply.message_id, "dislike", user="u")
    (message,) = await _history(pulse, reply.conversation_id)
    assert message.feedback is not None and message.feedback.rating == "dislike"

    await pulse.messages.feedback(reply.message_id, None, user="u")
    assert emulator.requests[-1].json() == {"rating": None, "user": "u"}
    (message,) = await _history(pulse, reply.conversation_id)
    assert message.feedback is None

    with pytest.raises(pa.FeedbackRatingRequiredError) as caught:
        await pulse.messages.feedback(reply.message_id, None, user="u")
    assert (caught.value.status, caught.value.code) == (400, "message_feedback_rating_required")


async def test_feedback_is_checked_before_sending(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    message_id = str(uuid.uuid4())
    for rating in ("love", "LIKE", 1, ""):
        with pytest.raises(pa.PulseValidationError, match="rating must be"):
            await pulse.messages.feedback(message_id, rating, user="u")  # type: ignore[arg-type]
    with pytest.raises(pa.PulseValidationError, match="message_id"):
        await pulse.messages.feedback("not-a-uuid", "like", user="u")
    with pytest.raises(pa.PulseValidationError, match="content"):
        await pulse.messages.feedback(message_id, "like", user="u", content=3)  # type: ignore[arg-type]
    assert emulator.requests == []


async def test_an_unknown_message_is_not_found(pulse: pa.AsyncPulse) -> None:
    with pytest.raises(pa.NotFoundError) as caught:
        await pulse.messages.feedback(str(uuid.uuid4()), "like", user="u")
    assert (caught.value.status, caught.value.message) == (404, "Message Not Exists.")
    with pytest.raises(pa.NotFoundError):
        await pulse.messages.suggested(str(uuid.uuid4()), user="u")
    reply = await pulse.chat.send("mine", user="u")
    with pytest.raises(pa.NotFoundError):  # another user's message
        await pulse.messages.suggested(reply.message_id, user="intruder")


async def test_suggested_questions(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    reply = await pulse.chat.send("How do solar panels work?", user="u")
    questions = await pulse.messages.suggested(reply.message_id, user="u")
    assert questions == [
        'Can you say more about "How do solar panels work"?',
        "Can you give me an example?",
        "What should I ask next?",
    ]
    assert await pulse.messages.suggested(reply.message_id, user="u") == questions
    assert emulator.requests[-1].query == {"user": "u"}


async def test_suggested_questions_disabled_old_style() -> None:
    emulator = Emulator(suggested_questions_after_answer=False, request_ids=True)
    async with emulator, emulator.client() as pulse:
        reply = await pulse.chat.send("hi", user="u")
        with pytest.raises(pa.SuggestedQuestionsDisabledError) as caught:
            await pulse.messages.suggested(reply.message_id, user="u")
    error = caught.value
    assert (error.status, error.code) == (400, "bad_request")
    assert error.message == "Suggested Questions Is Disabled."
    assert error.request_id


async def test_suggested_questions_disabled_newest_style(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    reply = await pulse.chat.send("hi", user="u")
    emulator.faults.add(
        path=f"/messages/{reply.message_id}/suggested",
        status=403,
        code="app_suggested_questions_after_answer_disabled",
    )
    with pytest.raises(pa.SuggestedQuestionsDisabledError) as caught:
        await pulse.messages.suggested(reply.message_id, user="u")
    assert caught.value.status == 403


async def test_other_bad_requests_stay_bad_requests(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    reply = await pulse.chat.send("hi", user="u")
    path = f"/messages/{reply.message_id}/suggested"
    emulator.faults.add(path=path, status=400, code="not_chat_app")
    with pytest.raises(pa.NotChatAppError):
        await pulse.messages.suggested(reply.message_id, user="u")


async def test_stop_generate_ends_a_stream_early(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.token_delay = 0.02
    emulator.answer = " ".join(f"word{i}" for i in range(1000))  # 20 s if never stopped
    async with pulse.chat.stream("Go on and on", user="u") as stream:
        async for event in stream:
            if isinstance(event, pa.MessageEvent):
                await pulse.chat.stop(event.task_id or "", user="u")
                break
        rest = [event async for event in stream]
    assert isinstance(rest[-1], pa.MessageEnd)
    assert len(stream.text.split()) < 1000
    stop = [r for r in emulator.requests if r.path.endswith("/stop")]
    assert len(stop) == 1 and stop[0].json() == {"user": "u"}
