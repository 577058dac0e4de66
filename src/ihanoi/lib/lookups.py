"""``field__any_of=[1, 2, …]``: ``IN`` for long lists of whole numbers, sent to PostgreSQL as
one array parameter.

An ``__in`` of a page's thousand ids costs Django and psycopg a placeholder per value: the
ORM prepares each value, and psycopg's client-side binding (Django's default) scans the
long statement for its placeholders at each execution, as the raw baseline does too. With
``= ANY(%s::bigint[])`` the list is one text parameter (``'{1,2,…}'``) and the statement is
short (docs/performance.md, "Open311: long id lists"). Other databases get Django's ``IN``.

Registered on integer fields and relations (``ihanoi.web.apps``); a relation to a key that
is not a whole number gets Django's ``IN``. Whole numbers only (ids), never ``None``:
anything else is a ``TypeError`` when the query is built, not a silent fallback; a number
beyond 64 bits can be no id and is left out (PostgreSQL's ``IN`` finds nothing for it).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import IntegerField
from django.db.models.lookups import In

BIGINT_MIN, BIGINT_MAX = -(2**63), 2**63 - 1


class AnyOf(In):
    lookup_name = "any_of"

    def get_prep_lookup(self) -> Any:
        values = self.rhs
        if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
            raise TypeError(f"any_of takes a list of whole numbers, not {type(values).__name__}")
        values = list(values)
        for value in values:
            # bool is an int; an id never is one.
            if type(value) is not int:
                raise TypeError(f"any_of takes whole numbers only, not {value!r}")
        # Beyond 64 bits a number can be no id (PostgreSQL's bigint, SQLite's INTEGER).
        return [value for value in values if BIGINT_MIN <= value <= BIGINT_MAX]

    def as_postgresql(self, compiler: Any, connection: Any) -> tuple[str, Any]:
        field = self.lhs.output_field
        key = field.target_field if field.is_relation else field
        if not isinstance(key, IntegerField):
            return self.as_sql(compiler, connection)
        if not self.rhs:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array = "{" + ",".join(map(str, self.rhs)) + "}"
        return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, array]
