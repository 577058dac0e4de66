"""Fixtures for the working-calendar tests."""

from __future__ import annotations

import pytest

from ihanoi.workcalendar.selectors import city_calendar_clear


@pytest.fixture(autouse=True)
def _fresh_city_calendar():
    # The calendar is cached per process; a rolled-back test's exceptions must not answer
    # this test's deadlines.
    city_calendar_clear()
    yield
    city_calendar_clear()
