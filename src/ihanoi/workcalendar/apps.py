from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WorkCalendarConfig(AppConfig):
    name = "ihanoi.workcalendar"
    verbose_name = _("Working calendar")
