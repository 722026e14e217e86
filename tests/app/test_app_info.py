"""Application information, parameters and meta: typed, tolerant of old and new shapes."""

import pytest

import pulseai_async as pa
from pulseai_async.testing import Emulator

pytestmark = pytest.mark.anyio


async def test_info(pulse: pa.AsyncPulse) -> None:
    info = await pulse.app.info()
    assert isinstance(info, pa.AppInfo)
    assert info.name == "PulseAI Emulator"
    assert info.tags == ["emulator", "testing"]
    assert info.mode == "advanced-chat"  # a chatflow, the emulator's default app mode


@pytest.mark.pulseai_emulator(app_mode="chat")
async def test_info_of_a_plain_chat_app(pulse: pa.AsyncPulse) -> None:
    assert (await pulse.app.info()).mode == "chat"


async def test_info_from_an_old_server_without_mode(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.faults.add(
        path="/info",
        status=200,
        body=b'{"name": "Old app", "description": "d", "tags": [], "future_field": 1}',
    )
    info = await pulse.app.info()
    assert (info.name, info.mode, info.author_name) == ("Old app", None, None)


async def test_parameters_are_typed(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    params = await pulse.app.parameters()
    assert isinstance(params, pa.AppParameters)
    assert params.opening_statement
    assert params.suggested_questions_after_answer.enabled is True
    assert params.text_to_speech.auto_play == "disabled"
    assert params.file_upload.image is not None
    assert params.file_upload.image.transfer_methods == ["remote_url", "local_file"]
    assert params.system_parameters.file_size_limit == 15
    form = params.form
    assert [(c.kind, c.variable) for c in form] == [("text-input", "name"), ("select", "tone")]
    assert form[1].options == ["friendly", "formal"]
    assert form[0].max_length == 48

    emulator.suggested_questions_after_answer = False
    emulator.upload_limit = 2 * 1024 * 1024
    params = await pulse.app.parameters()
    assert params.suggested_questions_after_answer.enabled is False
    assert params.system_parameters.file_size_limit == 2


async def test_parameters_of_a_minimal_server_answer(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.faults.add(
        path="/parameters",
        status=200,
        body=b'{"opening_statement": "", "user_input_form": [{"number": {"label": "Age", '
        b'"variable": "age", "required": true}}]}',
    )
    params = await pulse.app.parameters()
    assert params.speech_to_text.enabled is False
    assert params.file_upload.image is None
    (age,) = params.form
    assert (age.kind, age.variable, age.required) == ("number", "age", True)


async def test_parameters_of_an_unusable_app(emulator: Emulator, pulse: pa.AsyncPulse) -> None:
    emulator.faults.add(path="/parameters", status=400, code="app_unavailable")
    with pytest.raises(pa.AppUnavailableError):
        await pulse.app.parameters()


async def test_meta_tool_icons_are_urls_or_emoji(pulse: pa.AsyncPulse) -> None:
    meta = await pulse.app.meta()
    assert meta.tool_icons["web_search"] == "https://example.com/icons/web_search.svg"
    icon = meta.tool_icons["calculator"]
    assert isinstance(icon, pa.ToolIcon)
    assert (icon.background, icon.content) == ("#FFEAD5", "🧮")


async def test_a_body_that_is_not_the_documented_shape(
    emulator: Emulator, pulse: pa.AsyncPulse
) -> None:
    emulator.faults.add(path="/meta", status=200, body=b'{"tool_icons": ["not", "a", "map"]}')
    with pytest.raises(pa.ResponseDecodeError):
        await pulse.app.meta()
