"""Emulated application information, parameters and meta, and Create Chat.

Create Chat (`POST /create-chat`) is documented by PulseAI only by name: the body and
answer here are a GUESS (start an empty conversation for `user`, answer with the
conversation object plus `conversation_id`), there so the generic `pulse.request` can be
shown working. Do not rely on this shape against the real platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._routes import json_and_user, ok

if TYPE_CHECKING:
    from ._view import EmulatorView

__all__ = ["setup"]

OPENING_STATEMENT = "Hello! I am the PulseAI emulator. Ask me anything."
INFO = {
    "name": "PulseAI Emulator",
    "description": "A local stand-in for a PulseAI chat app.",
    "tags": ["emulator", "testing"],
    "mode": "chat",
    "author_name": "pulseai_async",
}
META = {
    "tool_icons": {
        "web_search": "https://example.com/icons/web_search.svg",
        "calculator": {"background": "#FFEAD5", "content": "🧮"},
    }
}


def parameters(emulator: EmulatorView) -> dict[str, Any]:
    mb = 1024 * 1024
    return {
        "opening_statement": OPENING_STATEMENT,
        "suggested_questions": ["What can you do?", "How does streaming work?"],
        "suggested_questions_after_answer": {"enabled": emulator.suggested_questions_after_answer},
        "speech_to_text": {"enabled": emulator.speech_to_text_supported},
        "text_to_speech": {
            "enabled": True,
            "voice": "emulator-voice",
            "language": "en-US",
            "autoPlay": "disabled",
        },
        "retriever_resource": {"enabled": False},
        "annotation_reply": {"enabled": False},
        "more_like_this": {"enabled": False},
        "sensitive_word_avoidance": {"enabled": False},
        "user_input_form": [
            {
                "text-input": {
                    "label": "Your name",
                    "variable": "name",
                    "required": False,
                    "max_length": 48,
                    "default": "",
                }
            },
            {
                "select": {
                    "label": "Tone",
                    "variable": "tone",
                    "required": False,
                    "default": "friendly",
                    "options": ["friendly", "formal"],
                }
            },
        ],
        "file_upload": {
            "image": {
                "enabled": True,
                "number_limits": 3,
                "detail": "high",
                "transfer_methods": ["remote_url", "local_file"],
            }
        },
        "system_parameters": {
            "file_size_limit": emulator.upload_limit // mb,
            "image_file_size_limit": emulator.upload_limit // mb,
            "audio_file_size_limit": emulator.audio_upload_limit // mb,
            "video_file_size_limit": 100,
        },
    }


def setup(app: web.Application, emulator: EmulatorView) -> None:
    async def info(request: web.Request) -> web.Response:
        mode = "chat" if emulator.chatflow_of(request) is None else "advanced-chat"
        return ok(emulator, {**INFO, "mode": mode})

    async def params(request: web.Request) -> web.Response:
        return ok(emulator, parameters(emulator))

    async def meta(request: web.Request) -> web.Response:
        return ok(emulator, META)

    async def create_chat(request: web.Request) -> web.Response:
        body, user = await json_and_user(request)
        inputs = body.get("inputs") if isinstance(body.get("inputs"), dict) else {}
        name = body.get("name") if isinstance(body.get("name"), str) else ""
        conversation = emulator.state.start_conversation(user, "", inputs or {})
        conversation.name = name or "New conversation"
        return ok(emulator, {"conversation_id": conversation.id, **conversation.public()})

    app.router.add_get("/v1/info", info)
    app.router.add_get("/v1/parameters", params)
    app.router.add_get("/v1/meta", meta)
    app.router.add_post("/v1/create-chat", create_chat)
