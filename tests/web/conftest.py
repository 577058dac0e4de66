"""The feedback tests' small city (two wards, their committees, the categories, one person per
role) for the app's pages here; uploaded files go to a temporary folder."""

from tests.feedback.conftest import _media_in_tmp, world  # noqa: F401 - fixtures
