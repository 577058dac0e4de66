from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "ihanoi.feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from .reference import connect_signals

        connect_signals()
