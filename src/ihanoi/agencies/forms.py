"""Input of the public directory: the search box and the kind filter."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ihanoi.agencies.models import Agency

QUERY_MAX_LENGTH = 200


class DirectoryFilterForm(forms.Form):
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=QUERY_MAX_LENGTH,
        strip=True,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": _("Name of an office or a ward")}
        ),
    )
    kind = forms.ChoiceField(
        label=_("Kind"),
        required=False,
        choices=[("", _("All kinds")), *Agency.Kind.choices],
    )
