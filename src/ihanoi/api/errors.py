"""One error shape for every error of the JSON API, in the caller's language.

    {"error": {"code": "invalid", "message": "Describe the problem.",
               "fields": {"description": ["Describe the problem."]}}}

``code`` is a stable word for programs (the table below); ``message`` is a sentence for
people, in Vietnamese or English (``Accept-Language``); ``fields`` maps a field name to its
messages and is empty when the error concerns no field.

Input that does not fit the schema (ninja's own validation: a missing field, a word where a
number belongs) is a 400 ``invalid`` like the services' checks, not FastAPI-style 422: a
client need not care which layer refused the input, and the city's rule (DESIGN §5) is
"bad input → 400".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    ObjectDoesNotExist,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import UnreadablePostError
from django.http.response import HttpResponseBase
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, Throttled
from ninja.errors import ValidationError as NinjaValidationError

from ihanoi.feedback.transitions import TransitionError

from .ratelimit import RateLimited

logger = logging.getLogger(__name__)

# code → HTTP status; documented in docs/api.md (the JSON API section).
CODES: dict[str, int] = {
    "invalid": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "conflict": 409,
    "payload_too_large": 413,
    "rate_limited": 429,
    "server_error": 500,
}


class InvalidToken(AuthenticationError):
    """A token was sent but names no active device (wrong, revoked, or its account is off)."""


class ErrorDetail(Schema):
    code: str
    message: str
    fields: dict[str, list[str]] = {}


class ErrorOut(Schema):
    error: ErrorDetail


def error_body(code: str, message: str, fields: Mapping[str, Sequence[str]] | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": str(message),
            "fields": {
                name: [str(m) for m in messages] for name, messages in (fields or {}).items()
            },
        }
    }


def error_response(
    code: str, message: str, fields: Mapping[str, Sequence[str]] | None = None
) -> JsonResponse:
    return JsonResponse(
        error_body(code, message, fields),
        status=CODES[code],
        json_dumps_params={"ensure_ascii": False},
    )


# --- The caller's language ------------------------------------------------------------------

ACCEPT_LANGUAGE_MAX = 500


def request_language(request: HttpRequest) -> str:
    """The first supported language of ``Accept-Language`` by preference, else the city's.

    The app states its language on every request; unlike the website (a cookie decides, see
    ``web.middleware``) there is no other state to follow."""
    supported = {code for code, _name in settings.LANGUAGES}
    header = request.headers.get("Accept-Language", "")[:ACCEPT_LANGUAGE_MAX]
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _sep, params = item.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                quality = 0.0
        if not tag or quality <= 0:
            continue
        ranked.append((-quality, position, tag.split("-")[0].strip().lower()))
    for _quality, _position, language in sorted(ranked):
        if language in supported:
            return language
    return settings.LANGUAGE_CODE


def in_request_language(
    view: Callable[..., HttpResponseBase],
) -> Callable[..., HttpResponseBase]:
    """Run an API view in the caller's language, and give Django's own error responses that
    never reach ninja's handlers (an unknown method) the error shape."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        language = request_language(request)
        with translation.override(language):
            try:
                response = view(request, *args, **kwargs)
            except Http404:  # ninja's root address raises it outside any operation
                response = not_found_view(request)
            if response.status_code == 405 and "json" not in response.get("Content-Type", ""):
                allow = response.get("Allow", "")
                response = error_response(
                    "method_not_allowed", _("This method is not allowed here.")
                )
                response["Allow"] = allow
        patch_vary_headers(response, ("Accept-Language",))
        response.headers.setdefault("Content-Language", language)
        return response

    wrapper.__name__ = getattr(view, "__name__", "api_view")
    wrapper.__doc__ = view.__doc__
    # ninja's views are CSRF-exempt (bearer tokens are not ambient credentials).
    wrapper.csrf_exempt = getattr(view, "csrf_exempt", False)  # type: ignore[attr-defined]
    return wrapper


@csrf_exempt  # like the API's own views: a stray POST gets the 404, not a CSRF page
def not_found_view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other address under the API: a 404 in the error shape."""
    return error_response("not_found", _("There is nothing at this address."))


# --- ninja's validation errors, in our words ------------------------------------------------


def _limit(ctx: Mapping[str, Any], key: str) -> str:
    value = ctx.get(key, "")
    return str(value)


def _pydantic_message(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return _("This field is required.")
    if kind == "string_too_long":
        return _("The text is too long (at most %(n)s characters).") % {
            "n": _limit(ctx, "max_length")
        }
    if kind == "string_too_short":
        return _("The text is too short (at least %(n)s characters).") % {
            "n": _limit(ctx, "min_length")
        }
    if kind == "too_long":
        return _("Too many items (at most %(n)s).") % {"n": _limit(ctx, "max_length")}
    if kind in {"string_type", "string_unicode"}:
        return _("Enter text.")
    if kind in {"int_parsing", "int_type", "int_from_float", "int_parsing_size"}:
        return _("Enter a whole number.")
    if kind in {"float_parsing", "float_type", "finite_number"}:
        return _("Enter a number.")
    if kind in {"greater_than_equal", "greater_than"}:
        return _("Enter a value of at least %(limit)s.") % {
            "limit": _limit(ctx, "ge" if kind == "greater_than_equal" else "gt")
        }
    if kind in {"less_than_equal", "less_than"}:
        return _("Enter a value of at most %(limit)s.") % {
            "limit": _limit(ctx, "le" if kind == "less_than_equal" else "lt")
        }
    if kind in {"bool_parsing", "bool_type"}:
        return _("Enter true or false.")
    if kind in {"uuid_parsing", "uuid_type", "uuid_version"}:
        return _("Enter a valid identifier.")
    if kind in {"literal_error", "enum"}:
        return _("Choose one of: %(choices)s.") % {"choices": _limit(ctx, "expected")}
    if kind in {"json_invalid", "json_type"}:
        return _("Send valid JSON.")
    if kind in {"model_type", "model_attributes_type", "dict_type"}:
        return _("Send a JSON object.")
    if kind == "list_type":
        return _("Send a list.")
    return _("Enter a valid value.")


# Names of the operations' body parameters (every operation calls its body ``payload``):
# the caller sees the field names of the JSON object or the form, not our parameter names.
_BODY_PARAMS = frozenset({"payload"})


def _field_name(location: Sequence[Any]) -> str:
    source, *rest = [str(part) for part in location] or ["body"]
    if rest and rest[0] in _BODY_PARAMS:
        rest = rest[1:]
    return ".".join(rest) or source


def _fields_from_ninja(errors: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for error in errors:
        name = _field_name(error.get("loc") or ())
        message = _pydantic_message(error)
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    return fields


def _fields_from_django(error: DjangoValidationError) -> dict[str, list[str]]:
    if hasattr(error, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
    return {}


def _first(fields: Mapping[str, Sequence[str]], default: str) -> str:
    for messages in fields.values():
        if messages:
            return str(messages[0])
    return default


# --- Handlers ---------------------------------------------------------------------------------


def install(api: NinjaAPI) -> None:
    """Register a handler for every exception an operation can raise."""

    def respond(
        request: HttpRequest,
        code: str,
        message: str,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> HttpResponse:
        return api.create_response(request, error_body(code, message, fields), status=CODES[code])

    @api.exception_handler(DjangoValidationError)
    def on_django_validation(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        if isinstance(exc, TransitionError):
            # The report moved on (the app showed a stale state): not the input's fault.
            return respond(request, "conflict", " ".join(exc.messages))
        fields = _fields_from_django(exc)
        message = _first(fields, " ".join(exc.messages) or _("The input is not valid."))
        return respond(request, "invalid", message, fields)

    @api.exception_handler(NinjaValidationError)
    def on_ninja_validation(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        fields = _fields_from_ninja(exc.errors)
        return respond(request, "invalid", _first(fields, _("The input is not valid.")), fields)

    @api.exception_handler(AuthenticationError)
    def on_authentication(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        if isinstance(exc, InvalidToken):
            message = _("This sign-in is not valid any more. Sign in again.")
        else:
            message = _("Sign in first: send your token as “Authorization: Bearer …”.")
        response = respond(request, "unauthorized", message)
        response["WWW-Authenticate"] = 'Bearer realm="ihanoi"'
        return response

    @api.exception_handler(RateLimited)
    @api.exception_handler(Throttled)
    def on_rate_limited(request: HttpRequest, exc: RateLimited | Throttled) -> HttpResponse:
        wait = exc.retry_after if isinstance(exc, RateLimited) else int(exc.wait or 60)
        minutes = max(1, -(-wait // 60))
        message = ngettext(
            "Too many attempts. Try again in %(minutes)d minute.",
            "Too many attempts. Try again in %(minutes)d minutes.",
            minutes,
        ) % {"minutes": minutes}
        response = respond(request, "rate_limited", message)
        response["Retry-After"] = str(wait)
        return response

    @api.exception_handler(HttpError)
    def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        # ninja raises these itself: an unreadable JSON body is the one we meet.
        if exc.status_code == 400:
            return respond(request, "bad_request", _("The request body cannot be read as JSON."))
        codes = {status: code for code, status in CODES.items() if code != "invalid"}
        return respond(request, codes.get(exc.status_code, "bad_request"), str(exc))

    @api.exception_handler(PermissionDenied)
    def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return respond(request, "forbidden", str(exc) or _("You may not do this."))

    @api.exception_handler(Http404)
    @api.exception_handler(ObjectDoesNotExist)
    def on_not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return respond(request, "not_found", _("Not found."))

    @api.exception_handler(SuspiciousOperation)
    @api.exception_handler(MultiPartParserError)
    @api.exception_handler(UnreadablePostError)
    def on_unreadable(request: HttpRequest, exc: Exception) -> HttpResponse:
        if isinstance(exc, RequestDataTooBig):
            return respond(request, "payload_too_large", _("The request is too large."))
        return respond(request, "bad_request", _("The request cannot be read."))

    @api.exception_handler(Exception)
    def on_anything_else(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        return respond(request, "server_error", _("Something went wrong on our side."))
