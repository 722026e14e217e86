"""`EmulatorView`: what the route modules read and change of the emulator serving them.

The routes are handed the `Emulator` itself, typed as this protocol, so no route module
imports the emulator back (the emulator imports them all to install them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from aiohttp import web

    from ._chatflow import Chatflow
    from ._faults import Fault
    from ._knowledge_state import KnowledgeState
    from ._state import State
    from ._wire import JsonStyle

__all__ = ["DeleteStyle", "EmulatorView"]

DeleteStyle = Literal["dify", 200, 204]
"""How deletes answer (see `Emulator`)."""


class EmulatorView(Protocol):
    app_id: str
    workflow_id: str
    state: State
    knowledge: KnowledgeState
    json_style: JsonStyle
    delete_style: DeleteStyle
    event_ids: bool
    ping_first: bool
    ping_interval: float | None
    token_delay: float
    upload_limit: int
    audio_upload_limit: int
    upload_extensions: frozenset[str]
    suggested_questions_after_answer: bool
    speech_to_text_supported: bool
    indexing_delay: float
    knowledge_legacy: bool
    knowledge_max_file_size: int

    @property
    def base_url(self) -> str: ...

    def answer_for(self, query: str) -> str: ...

    def chatflow_of(self, request: web.Request) -> Chatflow | None: ...

    def take_stream_fault(self, request: web.Request) -> Fault | None: ...
