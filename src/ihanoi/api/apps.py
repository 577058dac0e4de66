from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "ihanoi.api"
    verbose_name = _("Mobile app API")
