"""`pulse.messages`: Message Feedback and Next Suggested Questions."""

from __future__ import annotations

from typing import Any, Literal, Unpack

import msgspec

from .._errors import APIStatusError, PulseValidationError, SuggestedQuestionsDisabledError
from .._models import Model
from .._options import RequestOptions
from .._resource import Resource
from .._validation import check_text, check_unicode, check_uuid

__all__ = ["Messages", "Rating"]

Rating = Literal["like", "dislike"]
RATINGS = ("like", "dislike", None)


class _Suggested(Model):
    result: str | None = None
    data: list[str] = msgspec.field(default_factory=list)


class Messages(Resource):
    """Feedback on an answer and the follow-up questions suggested after it."""

    async def feedback(
        self,
        message_id: str,
        rating: Rating | None,
        *,
        user: str,
        content: str | None = None,
        **options: Unpack[RequestOptions],
    ) -> None:
        """Rate an answer `"like"` or `"dislike"` (with optional `content` text), or
        revoke an earlier rating with `rating=None`. The newest servers raise
        `FeedbackRatingRequiredError` when revoking a rating that was never given."""
        check_uuid("message_id", message_id)
        if rating not in RATINGS:
            raise PulseValidationError(
                f"rating must be 'like', 'dislike' or None (revoke), got {rating!r}"
            )
        body: dict[str, Any] = {"rating": rating, "user": check_text("user", user)}
        if content is not None:
            if not isinstance(content, str):
                raise PulseValidationError(
                    f"content must be a string, got {type(content).__name__}"
                )
            body["content"] = check_unicode("content", content)
        await self._client._call(
            "POST", f"/messages/{message_id}/feedbacks", None, json=body, options=options
        )

    async def suggested(
        self, message_id: str, *, user: str, **options: Unpack[RequestOptions]
    ) -> list[str]:
        """The next questions suggested after an answer. Raises
        `SuggestedQuestionsDisabledError` if the app has the feature off, `NotFoundError`
        for an unknown message. May be empty when the server's model call failed."""
        check_uuid("message_id", message_id)
        try:
            answer = await self._client._call(
                "GET",
                f"/messages/{message_id}/suggested",
                _Suggested,
                params={"user": check_text("user", user)},
                options=options,
            )
        except APIStatusError as exc:
            if SuggestedQuestionsDisabledError.matches(exc):
                raise SuggestedQuestionsDisabledError.from_error(exc) from None
            raise
        return answer.data
