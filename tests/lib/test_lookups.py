"""``field__any_of``: the same rows as ``__in`` on every database, one array parameter on
PostgreSQL, and a clear error for anything but a list of whole numbers."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ihanoi.agencies.models import Agency

pytestmark = pytest.mark.django_db


@pytest.fixture
def agencies() -> list[Agency]:
    parent = Agency.objects.create(code="city", name="Thành phố", kind=Agency.Kind.DEPARTMENT)
    children = [
        Agency.objects.create(
            code=f"a{n}", name=f"Cơ quan {n}", kind=Agency.Kind.DEPARTMENT, parent=parent
        )
        for n in range(5)
    ]
    return [parent, *children]


def _codes(**lookup: Any) -> list[str]:
    return sorted(Agency.objects.filter(**lookup).values_list("code", flat=True))


def test_it_finds_the_same_rows_as_in_by_key_and_by_relation(agencies: list[Agency]) -> None:
    parent, *children = agencies
    some = [children[0].pk, children[3].pk, 10**12]  # and an id nobody has
    assert _codes(pk__any_of=some) == _codes(pk__in=some) == ["a0", "a3"]
    assert _codes(parent_id__any_of=[parent.pk]) == _codes(parent__in=[parent.pk])
    assert len(_codes(parent_id__any_of=[parent.pk])) == 5
    assert _codes(parent__any_of=[parent.pk]) == _codes(parent_id__any_of=[parent.pk])
    assert _codes(pk__any_of=(p.pk for p in agencies)) == sorted(a.code for a in agencies)


def test_an_empty_list_finds_nothing_and_sends_no_query(agencies: list[Agency]) -> None:
    with CaptureQueriesContext(connection) as queries:
        assert _codes(pk__any_of=[]) == []
    assert len(queries) == 0


def test_a_long_list_is_one_parameter_on_postgresql(agencies: list[Agency]) -> None:
    ids = [a.pk for a in agencies] + list(range(10**9, 10**9 + 5000))
    with CaptureQueriesContext(connection) as queries:
        assert len(_codes(pk__any_of=ids)) == 6
    (sql,) = [q["sql"] for q in queries]
    if connection.vendor == "postgresql":
        assert "= ANY(" in sql and "::bigint[]" in sql and " IN (" not in sql
    else:
        assert " IN (" in sql


@pytest.mark.parametrize(
    "value",
    [["1"], [None], [True], [1.0], "123", 5, None],
    ids=["text", "none", "bool", "float", "a string", "a number", "nothing"],
)
def test_anything_but_whole_numbers_is_refused(agencies: list[Agency], value: Any) -> None:
    with pytest.raises(TypeError, match="any_of takes"):
        list(Agency.objects.filter(pk__any_of=value))


def test_a_number_beyond_bigint_finds_nothing_as_in_does(agencies: list[Agency]) -> None:
    first = agencies[0].pk
    assert _codes(pk__any_of=[first, 2**70]) == ["city"]
    assert _codes(pk__any_of=[2**70, -(2**70)]) == []


def test_only_integer_fields_and_relations_have_it(agencies: list[Agency]) -> None:
    from django.core.exceptions import FieldError

    with pytest.raises(FieldError, match="any_of"):
        list(Agency.objects.filter(code__any_of=[1]))
