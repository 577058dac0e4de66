from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "ihanoi.feedback"
    verbose_name = _("Feedback")

    def ready(self) -> None:
        from . import public_cache, reference

        reference.connect_signals()
        public_cache.connect_signals()
