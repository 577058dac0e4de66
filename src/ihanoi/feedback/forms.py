"""Forms of the report pages. They parse input; the services validate and write."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Kind, RatingValue, Severity
from .services import MAX_PHOTOS


def _choices(form: forms.Form, name: str) -> forms.ChoiceField:
    field = form.fields[name]
    assert isinstance(field, forms.ChoiceField)
    return field


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS image files (checked and re-encoded by the service)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic"}),
        )
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, (list, tuple)) else ([data] if data else [])
        if len(files) > MAX_PHOTOS:
            raise forms.ValidationError(_("Attach at most %(n)d photos.") % {"n": MAX_PHOTOS})
        return [super(PhotosField, self).clean(f, initial) for f in files]


class ReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Kind of feedback"), choices=Kind.choices, initial=Kind.FIELD)
    category = forms.ChoiceField(label=_("Category"), choices=())
    title = forms.CharField(label=_("Title"), max_length=150)
    description = forms.CharField(label=_("Description"), max_length=4000, widget=forms.Textarea)
    lat = forms.FloatField(label=_("Latitude"), widget=forms.NumberInput(attrs={"step": "any"}))
    lon = forms.FloatField(label=_("Longitude"), widget=forms.NumberInput(attrs={"step": "any"}))
    address = forms.CharField(label=_("Address or landmark"), max_length=255, required=False)
    photos = PhotosField(label=_("Photos (1 to 5)"))
    share_contact = forms.BooleanField(
        label=_("Share my name and phone number with the agency handling it"), required=False
    )
    # Made when the page is drawn: sending the same form twice makes one report.
    client_key = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args: Any, categories: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "category").choices = [("", "—"), *categories]
        if not self.is_bound:
            self.initial["client_key"] = uuid.uuid4().hex


class RatingForm(forms.Form):
    value = forms.ChoiceField(
        label=_("How satisfied are you with the result?"),
        choices=RatingValue.choices,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Comment (optional)"), max_length=1000, required=False, widget=forms.Textarea
    )


class ReplyForm(forms.Form):
    answer = forms.CharField(label=_("Your answer"), max_length=2000, widget=forms.Textarea)
    photos = PhotosField(label=_("Photos (optional)"))


class NoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea)


class RequiredNoteForm(forms.Form):
    note = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea)


class ForwardForm(forms.Form):
    agency = forms.ChoiceField(label=_("Agency"), choices=())
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, agencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "agency").choices = agencies


class TransferForm(forms.Form):
    agency = forms.ChoiceField(label=_("Agency"), choices=())
    note = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea)

    def __init__(self, *args: Any, agencies: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "agency").choices = agencies


class RejectForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=())
    note = forms.CharField(
        label=_("Explanation (optional)"), max_length=1000, required=False, widget=forms.Textarea
    )

    def __init__(self, *args: Any, reasons: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "reason").choices = reasons


class ResolveForm(forms.Form):
    result = forms.CharField(label=_("Result"), max_length=4000, widget=forms.Textarea)
    photos = PhotosField(label=_("Photos of the result"))


class QuestionForm(forms.Form):
    question = forms.CharField(
        label=_("What do you need to know?"), max_length=1000, widget=forms.Textarea
    )


class ExtensionForm(forms.Form):
    working_days = forms.IntegerField(label=_("Extra working days"), min_value=1, max_value=30)
    reason = forms.CharField(label=_("Reason"), max_length=1000, widget=forms.Textarea)


class DecisionForm(forms.Form):
    approve = forms.TypedChoiceField(
        label=_("Decision"),
        choices=[("yes", _("Approve")), ("no", _("Refuse"))],
        coerce=lambda v: v == "yes",
    )
    note = forms.CharField(label=_("Note"), max_length=1000, required=False, widget=forms.Textarea)


class AssignForm(forms.Form):
    officer = forms.ChoiceField(label=_("Officer"), choices=())

    def __init__(self, *args: Any, officers: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "officer").choices = officers


class MergeForm(forms.Form):
    original = forms.IntegerField(label=_("Number of the original report"), min_value=1)


class CommentForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), max_length=2000, widget=forms.Textarea)


class ClassifyForm(forms.Form):
    severity = forms.ChoiceField(label=_("Severity"), choices=Severity.choices)


class RedactForm(forms.Form):
    title = forms.CharField(label=_("Public title"), max_length=150)
    description = forms.CharField(
        label=_("Public description"), max_length=4000, widget=forms.Textarea
    )
    hidden_photos = forms.TypedMultipleChoiceField(
        label=_("Hide these photos"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, photos: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _choices(self, "hidden_photos").choices = photos
