"""A category's extra questions: validating the answers (web form, JSON API, Open311)."""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ihanoi.lib.text import nfc

from .models import Category, Question

MAX_ANSWER_CHARS: dict[str, int] = {Question.Datatype.STRING: 255, Question.Datatype.TEXT: 2000}


def _one(raw: Any) -> str:
    if isinstance(raw, (list, tuple)):
        raw = raw[0] if raw else ""
    return nfc(str(raw)).strip()


def clean_answer(question: Question, raw: Any) -> Any:
    """The stored value of one answer, or ValidationError with a message for the resident."""
    datatype = question.datatype
    if datatype == Question.Datatype.MULTI:
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        picked = [nfc(str(v)).strip() for v in values if str(v).strip()]
        keys = {choice["key"] for choice in question.choices}
        unknown = [v for v in picked if v not in keys]
        if unknown:
            raise ValidationError(_("Choose from the listed answers."), code="invalid_choice")
        return sorted(set(picked))
    value = _one(raw)
    if not value:
        return None
    if datatype in MAX_ANSWER_CHARS and len(value) > MAX_ANSWER_CHARS[datatype]:
        raise ValidationError(
            _("The answer is too long (at most %(n)d characters).")
            % {"n": MAX_ANSWER_CHARS[datatype]},
            code="too_long",
        )
    if datatype == Question.Datatype.NUMBER:
        try:
            number = Decimal(value.replace(",", "."))
        except InvalidOperation as exc:
            raise ValidationError(_("Enter a number."), code="invalid_number") from exc
        if not number.is_finite() or abs(number) > Decimal("1e12"):
            raise ValidationError(_("Enter a number."), code="invalid_number")
        return float(number)
    if datatype == Question.Datatype.DATETIME:
        try:
            return datetime.date.fromisoformat(value[:10]).isoformat()
        except ValueError as exc:
            raise ValidationError(_("Enter a date as YYYY-MM-DD."), code="invalid_date") from exc
    if datatype == Question.Datatype.SINGLE and value not in {
        choice["key"] for choice in question.choices
    }:
        raise ValidationError(_("Choose one of the listed answers."), code="invalid_choice")
    return value


def clean_answers(
    category: Category, raw: Mapping[str, Any], questions: Sequence[Question] | None = None
) -> dict[str, Any]:
    """All answers of a submission; unknown codes are ignored, required ones enforced.

    Errors are keyed ``answer_<code>`` so a form can show them next to the question."""
    questions = list(category.questions.all()) if questions is None else questions
    cleaned: dict[str, Any] = {}
    errors: dict[str, list[ValidationError]] = {}
    for question in questions:
        try:
            value = clean_answer(question, raw.get(question.code, ""))
        except ValidationError as exc:
            errors[f"answer_{question.code}"] = [exc]
            continue
        if value in (None, []):
            if question.required:
                errors[f"answer_{question.code}"] = [
                    ValidationError(_("This question needs an answer."), code="required")
                ]
            continue
        cleaned[question.code] = value
    if errors:
        raise ValidationError(errors)
    return cleaned
