"""Indexes of the long report lists (``feedback/ordering.py``): every page is an index seek.

On PostgreSQL they are built with CREATE INDEX CONCURRENTLY, so that the reports table keeps
taking reports while they build (minutes at tens of millions of rows); hence the migration
is not atomic. If a build is interrupted, PostgreSQL leaves an INVALID index behind: drop it
(``DROP INDEX CONCURRENTLY <name>``) and migrate again. Other databases build them plainly.
The two indexes they widen are dropped last.
"""

import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models

from ihanoi.lib.migration_ops import AddIndexOnline, RemoveIndexOnline


OPEN = models.Q(("status__in", ("submitted", "assigned", "in_progress")))


def deadline_rank():
    return models.Case(
        models.When(status__in=("assigned", "in_progress"), then=models.Value(0)),
        default=models.Value(1),
        output_field=models.IntegerField(),
    )


def running_due():
    return django.db.models.functions.comparison.Coalesce(
        models.Case(
            models.When(status="assigned", then=models.F("accept_due_at")),
            models.When(status="in_progress", then=models.F("resolve_due_at")),
        ),
        models.F("submitted_at"),
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("agencies", "0002_search_key_and_constraints"),
        ("feedback", "0001_initial"),
        ("places", "0003_unique_undated_unit_code"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexOnline(
            model_name="report",
            index=models.Index(fields=["submitted_at", "id"], name="report_time"),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                fields=["category", "submitted_at", "id"], name="report_category_time"
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                fields=["reporter", "submitted_at", "id"], name="report_reporter_time"
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(fields=["status", "submitted_at", "id"], name="report_status_time"),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                fields=["agency", "status", "submitted_at", "id"], name="report_agency_status_time"
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                deadline_rank(),
                running_due(),
                models.F("submitted_at"),
                models.F("id"),
                condition=OPEN,
                name="report_open_urgent",
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                models.F("agency"),
                deadline_rank(),
                running_due(),
                models.F("submitted_at"),
                models.F("id"),
                condition=OPEN,
                name="report_open_agency_urgent",
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                condition=OPEN, fields=["submitted_at", "id"], name="report_open_time"
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                condition=OPEN, fields=["agency", "submitted_at", "id"], name="report_open_agency_time"
            ),
        ),
        AddIndexOnline(
            model_name="report",
            index=models.Index(
                condition=models.Q(("review_pending", True)),
                fields=["submitted_at", "id"],
                name="report_review",
            ),
        ),
        RemoveIndexOnline(model_name="report", name="report_agency_status"),
        RemoveIndexOnline(model_name="report", name="report_by_reporter"),
    ]
