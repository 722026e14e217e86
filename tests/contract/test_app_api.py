"""The App API contract: chat, conversations, messages, files, app information, audio.

Every test runs against the emulator (CI) and a live server (`nox -s live`); see
conftest.py. The app under test answers with text containing the query (Dify-live's
`contract-chatflow`: Start -> Answer echoing `sys.query`).
"""

from __future__ import annotations

import uuid

import anyio
import pytest

import pulseai_async as pa

from .conftest import Target

pytestmark = pytest.mark.anyio


def is_uuid(value: object) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


# --- chat ---------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "POST /chat-messages (blocking) answers the whole reply: answer, conversation_id, "
    "message_id, mode, metadata.usage"
)
async def test_send_blocking(target: Target, user: str, cleanup, observe) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("blocking contract", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        info = await pulse.app.info()
    assert "blocking contract" in reply.answer
    assert is_uuid(reply.conversation_id) and is_uuid(reply.message_id)
    assert reply.metadata.usage is not None
    assert reply.mode in (None, info.mode)
    observe(f"mode {reply.mode!r}")


@pytest.mark.relies_on(
    "a chatflow streams workflow_started, node_*, message..., workflow_finished, then "
    "message_end (with usage); a chat app streams message... then message_end"
)
async def test_stream_events_and_when_it_is_finished(
    target: Target, user: str, cleanup, observe
) -> None:
    seen: list[tuple[str, bool]] = []
    async with target.client() as pulse:
        mode = (await pulse.app.info()).mode
        async with pulse.chat.stream("stream contract", user=user) as stream:
            async for event in stream:
                seen.append((event.event, stream.finished))
        cleanup(lambda: target.delete_conversation(stream.conversation_id, user))
    names = [name for name, _ in seen]
    observe(f"mode {mode!r}: " + " ".join(dict.fromkeys(names)))
    observe(f"request id header: {stream.request_id!r}")
    assert names[-1] == "message_end" and stream.finished
    assert all(not finished for _, finished in seen[:-1]), "finished only at message_end"
    assert stream.usage is not None
    assert "stream contract" in stream.text
    assert is_uuid(stream.conversation_id) and is_uuid(stream.message_id)
    if mode == "advanced-chat":
        assert names[0] == "workflow_started"
        assert names.index("workflow_finished") == len(names) - 2
        assert {"node_started", "node_finished", "message"} <= set(names)
        assert stream.workflow_status == "succeeded"
    else:
        assert stream.workflow_status is None


@pytest.mark.relies_on(
    "a streamed answer in the blocking shape (final_message) matches what history stores"
)
async def test_stream_then_continue_the_conversation(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        first = await pulse.chat.stream("turn one", user=user).final_message()
        cleanup(lambda: target.delete_conversation(first.conversation_id, user))
        await anyio.sleep(1.05)  # whole-second timestamps order the history
        second = await pulse.chat.stream(
            "turn two", user=user, conversation_id=first.conversation_id
        ).final_message()
        history = [m async for m in pulse.conversations.messages(first.conversation_id, user=user)]
    assert second.conversation_id == first.conversation_id
    assert [m.query for m in history] == ["turn two", "turn one"]  # newest first
    assert [m.id for m in history] == [second.message_id, first.message_id]
    assert history[0].answer == second.answer


@pytest.mark.relies_on(
    "an uploaded file (POST /files/upload) can be attached to a message as local_file"
)
async def test_upload_a_file_and_send_it(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        uploaded = await pulse.files.upload(("notes.txt", b"contract notes"), user=user)
        reply = await pulse.chat.send(
            "with a file",
            user=user,
            files=[
                {"type": "document", "transfer_method": "local_file", "upload_file_id": uploaded.id}
            ],
        )
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
    assert is_uuid(uploaded.id)
    assert (uploaded.name, uploaded.size, uploaded.extension) == ("notes.txt", 14, "txt")
    assert "with a file" in reply.answer


@pytest.mark.needs("slow_app")
@pytest.mark.relies_on(
    "POST /chat-messages/{task_id}/stop ends a running stream early with message_end "
    "(a chatflow's workflow_finished says `stopped`)"
)
async def test_stop_a_running_answer(target: Target, user: str, cleanup, observe) -> None:
    async with target.client("slow") as pulse:
        with anyio.fail_after(target.slow_seconds * 2):
            async with pulse.chat.stream(str(target.slow_seconds * 4), user=user) as stream:
                async for _event in stream:
                    if stream.task_id is not None:
                        break
                await pulse.chat.stop(stream.task_id, user=user)
                await stream.until_done()
        cleanup(lambda: target.delete_conversation(stream.conversation_id, user, "slow"))
    assert stream.finished
    observe(f"workflow status {stream.workflow_status!r}")
    assert stream.workflow_status in (None, "stopped")


@pytest.mark.relies_on("stopping an unknown task answers success (stop is best effort)")
async def test_stop_an_unknown_task(target: Target, user: str) -> None:
    async with target.client() as pulse:
        assert await pulse.chat.stop(str(uuid.uuid4()), user=user) is None


@pytest.mark.needs("slow_app")
@pytest.mark.relies_on(
    "`event: ping` keeps an idle stream alive (every 10 s on Dify), so a read timeout "
    "longer than the ping interval survives a longer silence"
)
async def test_pings_keep_an_idle_stream_alive(target: Target, user: str, cleanup) -> None:
    read = target.ping_interval * 1.3  # shorter than the silence, longer than a ping
    timeout = pa.Timeout(connect=10, read=read, total=None)
    async with target.client("slow", timeout=timeout) as pulse:
        stream = pulse.chat.stream(str(target.slow_seconds), user=user)
        text = await stream.final_text()
        cleanup(lambda: target.delete_conversation(stream.conversation_id, user, "slow"))
    assert text.startswith("Thinking about") and stream.finished
    assert target.slow_seconds > read  # the silence outlasted the read timeout


@pytest.mark.needs("fail_app")
@pytest.mark.relies_on(
    "a failed run streams workflow_finished (status failed) and then an `error` event "
    "(400 invalid_param on Dify 1.9.1), which the stream raises"
)
async def test_a_failed_run_raises(target: Target, user: str, cleanup, observe) -> None:
    cleanup(lambda: target.delete_conversations_of(user, "fail"))
    async with target.client("fail") as pulse:
        stream = pulse.chat.stream("fail please", user=user)
        with pytest.raises(pa.APIStatusError) as caught:
            async with stream:
                await stream.until_done()
        error = caught.value
        observe(f"{type(error).__name__} {error.status} {error.code}: {error.message}")
        observe(f"workflow status {stream.workflow_status!r}")
        assert not stream.finished
        assert error.partial_text == stream.text
        mode = (await pulse.app.info()).mode
        if mode == "advanced-chat":
            assert stream.workflow_status == "failed"


@pytest.mark.needs("fail_app")
@pytest.mark.relies_on("a failed run in blocking mode is an HTTP 400 error, not a reply")
async def test_a_failed_run_blocking(target: Target, user: str, cleanup, observe) -> None:
    cleanup(lambda: target.delete_conversations_of(user, "fail"))
    async with target.client("fail") as pulse:
        with pytest.raises(pa.BadRequestError) as caught:
            await pulse.chat.send("fail please", user=user)
    observe(f"{type(caught.value).__name__} {caught.value.code}: {caught.value.message}")


# --- errors every endpoint shares -----------------------------------------------------------


@pytest.mark.relies_on(
    "an unknown key is 401 `unauthorized` on the App and Knowledge APIs (Dify 1.9.1 "
    "checks a knowledge base id in the path first: 404 for an unknown one, whatever the key)"
)
async def test_a_wrong_key_is_an_authentication_error(target: Target) -> None:
    async with pa.AsyncPulse(
        api_key="app-not-a-real-key",
        knowledge_api_key="dataset-not-a-real-key",
        base_url=target.base_url,
        max_retries=0,
    ) as pulse:
        with pytest.raises(pa.AuthenticationError) as app_error:
            await pulse.app.info()
        with pytest.raises(pa.AuthenticationError) as knowledge_error:
            await pulse.datasets.create(f"contract-{uuid.uuid4().hex[:10]}")
    assert app_error.value.status == knowledge_error.value.status == 401
    async with pa.AsyncPulse(
        knowledge_api_key=target.app_key, base_url=target.base_url, max_retries=0
    ) as pulse:
        with pytest.raises(pa.AuthenticationError):  # an app key is no knowledge key
            await pulse.datasets.create(f"contract-{uuid.uuid4().hex[:10]}")


@pytest.mark.relies_on(
    "a path outside the API (base_url without /v1) is the web server's 404, not an API error"
)
async def test_a_base_url_without_v1_says_so(target: Target) -> None:
    root = target.base_url.removesuffix("/v1")
    async with target.client(base_url=root, max_retries=0) as pulse:
        with pytest.raises(pa.NotFoundError) as caught:
            await pulse.app.info()
    assert "/v1" in caught.value.message and "base_url" in caught.value.message


@pytest.mark.relies_on(
    'an unknown conversation id is 404 "Conversation Not Exists." for chat, history, '
    "rename and variables"
)
async def test_an_unknown_conversation(target: Target, user: str, observe) -> None:
    missing = str(uuid.uuid4())
    async with target.client() as pulse:
        calls = [
            lambda: pulse.chat.send("hi", user=user, conversation_id=missing),
            lambda: pulse.conversations.messages(missing, user=user).collect(),
            lambda: pulse.conversations.rename(missing, "x", user=user),
            lambda: pulse.request(
                "GET", f"/conversations/{missing}/variables", params={"user": user}
            ),
        ]
        for call in calls:
            with pytest.raises(pa.ConversationNotFoundError) as caught:
                await call()
            assert caught.value.message.startswith("Conversation Not Exists.")
        observe(f"message: {caught.value.message!r}")


# --- conversations ------------------------------------------------------------------------


@pytest.mark.relies_on(
    'another user\'s conversation is 404 "Conversation Not Exists." for chat, history '
    "and rename, and is not in that user's list"
)
async def test_another_users_conversation(target: Target, user: str, cleanup) -> None:
    other = f"{user}-other"
    async with target.client() as pulse:
        reply = await pulse.chat.send("private", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        cid = reply.conversation_id
        calls = [
            lambda: pulse.chat.send("hi", user=other, conversation_id=cid),
            lambda: pulse.conversations.messages(cid, user=other).collect(),
            lambda: pulse.conversations.rename(cid, "taken", user=other),
        ]
        for call in calls:
            with pytest.raises(pa.ConversationNotFoundError):
                await call()
        assert await pulse.conversations.list(user=other).collect() == []
        (mine,) = await pulse.conversations.list(user=user).collect()
    assert mine.name != "taken"


@pytest.mark.relies_on(
    "GET /conversations lists a user's own conversations, newest first, paged by last_id "
    "(items created in different seconds)"
)
async def test_list_conversations_in_pages(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        ids = []
        for index in range(3):
            if index:
                await anyio.sleep(1.05)  # whole-second cursors: see the next test
            reply = await pulse.chat.send(f"topic {index}", user=user)
            ids.append(reply.conversation_id)
            cleanup(lambda cid=reply.conversation_id: target.delete_conversation(cid, user))
        listed = [c.id async for c in pulse.conversations.list(user=user, limit=2)]
        page = await pulse.conversations.list(user=user, limit=2).first_page()
        others = await pulse.conversations.list(user=f"{user}-other").collect()
    assert listed == ids[::-1]
    assert len(page) == 2 and page.has_more
    assert others == []


@pytest.mark.relies_on(
    "paging cursors compare whole-second timestamps (Dify): conversations created in "
    "the same second may be skipped, never repeated"
)
async def test_paging_conversations_created_in_one_second(
    target: Target, user: str, cleanup, observe
) -> None:
    async with target.client() as pulse:
        ids = set()
        for index in range(3):
            reply = await pulse.chat.send(f"burst {index}", user=user)
            ids.add(reply.conversation_id)
            cleanup(lambda cid=reply.conversation_id: target.delete_conversation(cid, user))
        paged = [c.id async for c in pulse.conversations.list(user=user, limit=1)]
        whole = [c.id async for c in pulse.conversations.list(user=user, limit=100)]
    assert len(paged) == len(set(paged)) and set(paged) <= ids
    assert set(whole) == ids
    observe(f"paging one at a time returned {len(paged)} of {len(ids)}")


@pytest.mark.relies_on(
    "history (GET /messages) is ordered by whole-second timestamps on Dify: turns in the "
    "same second may come in either order, and paging by first_id may skip some"
)
async def test_paging_history_within_one_second(
    target: Target, user: str, cleanup, observe
) -> None:
    async with target.client() as pulse:
        first = await pulse.chat.send("burst 0", user=user)
        cleanup(lambda: target.delete_conversation(first.conversation_id, user))
        cid = first.conversation_id
        for index in (1, 2):
            await pulse.chat.send(f"burst {index}", user=user, conversation_id=cid)
        paged = [m.query async for m in pulse.conversations.messages(cid, user=user, limit=1)]
        whole = [m.query async for m in pulse.conversations.messages(cid, user=user, limit=100)]
    assert sorted(whole) == ["burst 0", "burst 1", "burst 2"]
    assert len(paged) == len(set(paged)) and set(paged) <= set(whole)
    observe(f"newest first: {whole}; one per page: {len(paged)} of 3")


@pytest.mark.relies_on(
    "POST /conversations/{id}/name renames (name, or auto_generate by the model)"
)
async def test_rename_a_conversation(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("rename me", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        renamed = await pulse.conversations.rename(reply.conversation_id, "Contract", user=user)
        listed = await pulse.conversations.list(user=user).collect()
    assert (renamed.id, renamed.name) == (reply.conversation_id, "Contract")
    assert [c.name for c in listed] == ["Contract"]


@pytest.mark.needs("model_provider")
@pytest.mark.relies_on("rename with auto_generate asks the model for a name")
async def test_rename_with_auto_generate(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("Plan a weekend in Lisbon", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        await pulse.conversations.rename(reply.conversation_id, "placeholder", user=user)
        generated = await pulse.conversations.rename(
            reply.conversation_id, user=user, auto_generate=True
        )
    assert generated.name and generated.name != "placeholder"


@pytest.mark.relies_on("GET /conversations/{id}/variables pages a conversation's variables")
async def test_conversation_variables(target: Target, user: str, cleanup) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("variables", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        page = await pulse.request(
            "GET", f"/conversations/{reply.conversation_id}/variables", params={"user": user}
        )
    assert isinstance(page["data"], list) and page["has_more"] is False
    for variable in page["data"]:
        assert {"id", "name", "value_type", "value"} <= set(variable)


@pytest.mark.relies_on(
    "DELETE /conversations/{id} deletes it; a second delete is 204 on Dify 1.9.1, 404 "
    "ConversationNotFoundError per PulseAI's documentation (the SDK accepts both)"
)
async def test_delete_a_conversation_twice(target: Target, user: str, observe) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("delete me", user=user)
        await pulse.conversations.delete(reply.conversation_id, user=user)
        assert await pulse.conversations.list(user=user).collect() == []
        for what, conversation_id in (
            ("second delete", reply.conversation_id),
            ("delete of an id never used", str(uuid.uuid4())),
        ):
            try:
                await pulse.conversations.delete(conversation_id, user=user)
            except pa.ConversationNotFoundError:
                observe(f"{what}: 404 ConversationNotFoundError")
            else:
                observe(f"{what}: success (no error)")


@pytest.mark.relies_on(
    "Dify 1.9.1's DELETE /conversations/{id} does not check the user: another user's "
    "delete removes it; PulseAI documents 404 for another user's conversation"
)
async def test_delete_someone_elses_conversation(
    target: Target, user: str, cleanup, observe
) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("mine", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        try:
            await pulse.conversations.delete(reply.conversation_id, user=f"{user}-intruder")
        except pa.ConversationNotFoundError:
            refused = True
        else:
            refused = False
        still_there = [c.id for c in await pulse.conversations.list(user=user).collect()]
    if refused:
        assert still_there == [reply.conversation_id]
        observe("another user's delete: 404, the conversation is kept")
    elif still_there:
        observe("another user's delete: success, the conversation is kept")
    else:
        observe("another user's delete: success, and it DELETED the conversation")


# --- messages ------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "POST /messages/{id}/feedbacks sets and revokes a rating, which history shows; revoking "
    "a rating never given is a 400 (FeedbackRatingRequiredError per PulseAI's newest "
    "documentation, invalid_param on Dify 1.9.1)"
)
async def test_feedback(target: Target, user: str, cleanup, observe) -> None:
    async with target.client() as pulse:
        reply = await pulse.chat.send("rate me", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        with pytest.raises(pa.BadRequestError) as caught:
            await pulse.messages.feedback(reply.message_id, None, user=user)
        observe(
            f"revoking no rating: {type(caught.value).__name__} {caught.value.code} "
            f"{caught.value.message!r}"
        )
        await pulse.messages.feedback(reply.message_id, "like", user=user, content="good")
        (rated,) = await pulse.conversations.messages(reply.conversation_id, user=user).collect()
        await pulse.messages.feedback(reply.message_id, None, user=user)
        (revoked,) = await pulse.conversations.messages(reply.conversation_id, user=user).collect()
        with pytest.raises(pa.NotFoundError):
            await pulse.messages.feedback(str(uuid.uuid4()), "like", user=user)
    assert rated.feedback is not None and rated.feedback.rating == "like"
    assert revoked.feedback is None


@pytest.mark.relies_on(
    "GET /messages/{id}/suggested answers questions when the app has the feature on, "
    "400 'Suggested Questions Is Disabled.' when off (as parameters() says)"
)
async def test_suggested_questions_follow_the_parameters(
    target: Target, user: str, cleanup, observe
) -> None:
    async with target.client() as pulse:
        enabled = (await pulse.app.parameters()).suggested_questions_after_answer.enabled
        reply = await pulse.chat.send("suggest", user=user)
        cleanup(lambda: target.delete_conversation(reply.conversation_id, user))
        if enabled:
            if "model_provider" not in target.features:
                pytest.skip(
                    "not applicable: the app has suggested questions on, which needs a "
                    "model provider, which this server does not have"
                )
            questions = await pulse.messages.suggested(reply.message_id, user=user)
            assert all(isinstance(q, str) for q in questions)
            observe(f"enabled: {len(questions)} questions")
        else:
            with pytest.raises(pa.SuggestedQuestionsDisabledError) as caught:
                await pulse.messages.suggested(reply.message_id, user=user)
            observe(f"disabled: {caught.value.status} {caught.value.code}")


# --- files -----------------------------------------------------------------------------------


@pytest.mark.relies_on(
    "POST /files/upload of an .exe: 415 UnsupportedFileTypeError per PulseAI's "
    "documentation; Dify 1.9.1 stores it (201) when the app allows documents"
)
async def test_upload_an_exe(target: Target, user: str, observe) -> None:
    async with target.client() as pulse:
        try:
            uploaded = await pulse.files.upload(("setup.exe", b"MZ\x90\x00"), user=user)
        except pa.UnsupportedFileTypeError as error:
            observe(f"refused: {error.status} {error.code}")
        else:
            observe(f"accepted: extension {uploaded.extension!r}")
            assert uploaded.extension == "exe"


@pytest.mark.relies_on(
    "an upload over system_parameters.file_size_limit (MB) is 413 file_too_large"
)
async def test_upload_too_large(target: Target, user: str) -> None:
    async with target.client() as pulse:
        limit_mb = (await pulse.app.parameters()).system_parameters.file_size_limit
        assert limit_mb
        oversized = b"x" * (limit_mb * 1024 * 1024 + 1)
        with pytest.raises(pa.FileTooLargeError) as caught:
            await pulse.files.upload(("big.txt", oversized), user=user)
    assert caught.value.status == 413


# --- app information ---------------------------------------------------------------------------


@pytest.mark.relies_on("GET /info, /parameters (user optional) and /meta decode into their types")
async def test_app_information(target: Target, user: str, observe) -> None:
    async with target.client() as pulse:
        info = await pulse.app.info()
        params = await pulse.app.parameters()
        with_user = await pulse.app.parameters(user=user)
        meta = await pulse.app.meta()
    assert info.name and isinstance(info.tags, list)
    assert params == with_user
    assert params.system_parameters.file_size_limit
    assert isinstance(meta.tool_icons, dict)
    observe(f"mode {info.mode!r}, file upload {params.file_upload.enabled!r}")


# --- audio -------------------------------------------------------------------------------------


@pytest.mark.needs("model_provider")
@pytest.mark.relies_on("POST /audio-to-text transcribes with the app's speech model")
async def test_speech_to_text(target: Target, user: str) -> None:
    async with target.client() as pulse:
        result = await pulse.audio.speech_to_text(("hello.mp3", b"ID3" + bytes(2048)), user=user)
    assert isinstance(result.text, str)


@pytest.mark.needs("model_provider")
@pytest.mark.relies_on("POST /text-to-audio streams audio from the app's speech model")
async def test_text_to_audio(target: Target, user: str) -> None:
    async with (
        target.client() as pulse,
        pulse.audio.text_to_audio(text="Hello there", user=user) as audio,
    ):
        data = await audio.read()
    assert data and audio.content_type and audio.content_type.startswith("audio/")
