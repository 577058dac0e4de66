from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebConfig(AppConfig):
    name = "ihanoi.web"
    verbose_name = _("Website")

    def ready(self) -> None:
        from django.db.models import ForeignObject, IntegerField
        from django_tasks.signals import task_finished, task_started

        from ihanoi.lib.lookups import AnyOf

        IntegerField.register_lookup(AnyOf)  # and the auto fields, which are integer fields
        ForeignObject.register_lookup(AnyOf)  # relations keep a lookup table of their own

        # A task worker that keeps its process between tasks (RQ's SimpleWorker, the
        # database worker) must drop a connection the database closed meanwhile (a
        # PostgreSQL restart), as Django does around each web request; otherwise every
        # later task fails with "the connection is closed".
        task_started.connect(_fresh_connections, dispatch_uid="ihanoi.tasks.started")
        task_finished.connect(_fresh_connections, dispatch_uid="ihanoi.tasks.finished")


def _fresh_connections(**_kwargs: object) -> None:
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        # A task run inline inside a transaction (the immediate backend) keeps its
        # connection: closing it would break the caller's transaction.
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
