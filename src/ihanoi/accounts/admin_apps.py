"""Loaded from INSTALLED_APPS before models exist: only names the admin site class."""

from django.contrib.admin.apps import AdminConfig as DjangoAdminConfig


class AdminConfig(DjangoAdminConfig):
    default_site = "ihanoi.accounts.admin_site.AdminSite"
