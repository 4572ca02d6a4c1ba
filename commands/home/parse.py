"""The "Ask alumni" modal's fields -> a checked question (pure; FieldErrors go back onto the fields)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from commands.common.errors import FieldErrors
from commands.questions.parse import MAX_QUESTION_LENGTH, MIN_QUESTION_LENGTH, clean

__all__ = ["MAX_QUESTION_LENGTH", "AskForm", "read_ask_form"]


@dataclass(frozen=True)
class AskForm:
    text: str
    anonymous: bool


def read_ask_form(values: dict[str, Any], question_block: str, anonymous_block: str) -> AskForm:
    """The same length rules as `/cba-ask QUESTION`, reported on the question field."""
    field: dict[str, Any] = next(iter((values.get(question_block) or {}).values()), {}) or {}
    text = clean(field.get("value"))
    if len(text) < MIN_QUESTION_LENGTH:
        raise FieldErrors(
            {
                question_block: f"A question needs at least {MIN_QUESTION_LENGTH} characters, so the alumni know what you mean."
            }
        )
    if len(text) > MAX_QUESTION_LENGTH:
        raise FieldErrors({question_block: f"A question can be at most {MAX_QUESTION_LENGTH} characters."})
    flag: dict[str, Any] = next(iter((values.get(anonymous_block) or {}).values()), {}) or {}
    anonymous = bool(flag.get("selected_options"))
    return AskForm(text, anonymous)
