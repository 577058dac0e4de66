"""Shared fixtures. Reference data in ../shared/data is read in place, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("IHANOI_SHARED_DATA", ROOT.parent / "shared" / "data"))


def shared_data_file(relative: str) -> Path:
    """Path to a reference file; under CI=true a missing file fails, elsewhere it skips."""
    path = SHARED_DATA / relative
    if not path.exists():
        message = f"reference data {path} is missing (set IHANOI_SHARED_DATA to its folder)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(autouse=True)
def _english_unless_marked_vietnamese(settings, request):
    """Tests assert the English msgids; tests marked ``vietnamese`` run with the real default
    (Vietnamese) and check the catalogue. Changing LANGUAGE_CODE resets Django's cached
    default translation (django.test.signals.language_changed)."""
    if not request.node.get_closest_marker("vietnamese"):
        settings.LANGUAGE_CODE = "en"


@pytest.fixture(autouse=True)
def _fast_hashing_and_local_outboxes(settings):
    # Argon2 is the production hasher (tested in tests/accounts); tests use a fast one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.SMS_BACKEND = "ihanoi.accounts.sms.LocMemSMSBackend"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    from django.core.cache import cache, caches

    from ihanoi.accounts.sms import LocMemSMSBackend

    LocMemSMSBackend.outbox.clear()
    # Rate-limit counters live in the cache and must not leak from one test to the next.
    # CI's second run keeps Redis (the production cache) and empties it; otherwise a
    # per-process memory cache stands in for the database table, which transactional tests
    # would not roll back.
    if not settings.CACHES["default"]["BACKEND"].endswith("RedisCache"):
        settings.CACHES = {
            alias: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": alias}
            for alias in ("default", "public")
        }
    cache.clear()
    caches["public"].clear()


@pytest.fixture(autouse=True)
def _fresh_ward_index():
    # The point → ward index is per process; rows from another test's (rolled back)
    # transaction must not answer this test's lookups.
    from ihanoi.feedback.reference import reference_clear
    from ihanoi.places import selectors
    from ihanoi.workcalendar.selectors import city_calendar_clear

    selectors.ward_index_clear()
    city_calendar_clear()  # likewise the working calendar's per-process cache
    reference_clear()  # and the submissions' reference snapshot
    yield
    selectors.ward_index_clear()
    city_calendar_clear()
    reference_clear()
