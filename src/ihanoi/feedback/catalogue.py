"""Writes and reads on the catalogue: categories, questions, routing rules, reasons."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from ihanoi.agencies.models import Agency

from . import seed
from .models import Category, CategoryGroup, Question, RejectionReason, RoutingRule


@dataclass(frozen=True)
class CatalogueSeedResult:
    categories: int
    questions: int
    rules: int
    reasons: int


@transaction.atomic
def feedback_seed() -> CatalogueSeedResult:
    """Write the starting catalogue (idempotent: names are refreshed, nothing deleted)."""
    groups = {}
    for position, (code, name, name_en) in enumerate(seed.GROUPS):
        groups[code], _ = CategoryGroup.objects.update_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "position": position}
        )
    questions = 0
    for position, spec in enumerate(seed.CATEGORIES):
        category, _created = Category.objects.get_or_create(
            code=spec.code,
            defaults={
                "group": groups[spec.group],
                "name": spec.name,
                "default_severity": spec.severity,
                "is_public": spec.is_public,
                "photo_required": spec.photo_required,
                "evidence_required": spec.evidence_required,
            },
        )
        # Names and descriptions follow the seed; the rules an administrator may have tuned
        # (severity, photos, privacy) are set only when the category is created.
        category.group = groups[spec.group]
        category.name = spec.name
        category.name_en = spec.name_en
        category.description = spec.description
        category.keywords = spec.keywords
        category.position = position
        category.save()
        for q_position, q in enumerate(spec.questions):
            Question.objects.update_or_create(
                category=category,
                code=q.code,
                defaults={
                    "label": q.label,
                    "label_en": q.label_en,
                    "datatype": q.datatype,
                    "required": q.required,
                    "choices": q.choices_json(),
                    "position": q_position,
                },
            )
            questions += 1
    rules = 0
    for category_code, agency_code in seed.CITY_RULES:
        agency = Agency.objects.filter(code=agency_code).first()
        if agency is None:
            continue
        RoutingRule.objects.get_or_create(
            category=Category.objects.get(code=category_code), unit=None, agency=agency
        )
        rules += 1
    for code, text, text_en in seed.REJECTION_REASONS:
        RejectionReason.objects.update_or_create(
            code=code, defaults={"text": text, "text_en": text_en}
        )
    return CatalogueSeedResult(
        categories=len(seed.CATEGORIES),
        questions=questions,
        rules=rules,
        reasons=len(seed.REJECTION_REASONS),
    )


def active_categories() -> QuerySet[Category]:
    return (
        Category.objects.filter(is_active=True)
        .select_related("group")
        .prefetch_related(Prefetch("questions", queryset=Question.objects.order_by("position")))
        .order_by("group__position", "position")
    )
