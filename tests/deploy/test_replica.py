"""The read replica against a real streaming standby (deploy/replica.sh start).

Runs when IHANOI_REPLICA_URL names the standby (DATABASE_URL names its primary); skips
otherwise. ``deploy/replica-check`` sets both and runs this file. The test database that
pytest creates on the primary reaches the standby through streaming replication, so the
database name in IHANOI_REPLICA_URL is replaced by the test database's name.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import dj_database_url
import pytest
import time_machine
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.feedback.models import Report
from ihanoi.lib.dbrouter import REPLICA
from ihanoi.oversight.services import rollup_run
from tests.feedback import conftest as feedback
from tests.lib.replica_alias import mirror_of_default, replica_alias
from tests.lib.test_dbrouter import photo  # noqa: F401 - the fixture, shared
from tests.oversight.scenario import NOW, write_march

REPLICA_URL = os.environ.get("IHANOI_REPLICA_URL", "").strip()

pytestmark = [
    pytest.mark.skipif(
        not REPLICA_URL,
        reason="IHANOI_REPLICA_URL is not set: start a standby with `deploy/replica.sh start`, "
        "then run `deploy/replica-check`",
    ),
    pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA]),
]

world = feedback.world
_media_in_tmp = feedback._media_in_tmp

CATCH_UP_SECONDS = 30
# Read from default around and inside a page (session, user, MFA, memberships) and the
# histogram SQL that the oversight selectors run on django.db.connection.
PRIMARY_READS = (
    '"django_session"',
    '"accounts_user"',
    '"mfa_authenticator"',
    '"agencies_membership"',
    "WITH t(g,",
)


def _one(alias: str, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...]:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def _wait_for_database_on_replica(deadline: float) -> None:
    """CREATE DATABASE and the migrations of the test run reach the standby by replay."""
    while True:
        try:
            _one(REPLICA, "SELECT 1 FROM django_migrations LIMIT 1")
            return
        except DatabaseError:
            connections[REPLICA].close()
            if time.perf_counter() > deadline:
                raise
            time.sleep(0.2)


@pytest.fixture(scope="module", autouse=True)
def _standby(django_db_setup, django_db_blocker) -> Iterator[None]:
    if connections[DEFAULT_DB_ALIAS].vendor != "postgresql":
        pytest.skip("the replica check needs DATABASE_URL to name the PostgreSQL primary")
    try:
        url = dj_database_url.parse(REPLICA_URL)
    except ValueError as exc:
        pytest.fail(f"IHANOI_REPLICA_URL is not a database URL: {exc}")
    where = {key: url[key] for key in ("HOST", "PORT", "USER", "PASSWORD")}
    with django_db_blocker.unblock(), replica_alias(mirror_of_default(**where)):
        _wait_for_database_on_replica(time.perf_counter() + CATCH_UP_SECONDS)
        yield


@pytest.fixture(autouse=True)
def _router(settings) -> None:
    settings.DATABASE_ROUTERS = ["ihanoi.lib.dbrouter.ReplicaRouter"]


def caught_up() -> float:
    """Wait until the standby has replayed everything the primary has written so far;
    returns the seconds it took."""
    start = time.perf_counter()
    (target,) = _one(DEFAULT_DB_ALIAS, "SELECT pg_current_wal_lsn()::text")
    while True:
        (done,) = _one(
            REPLICA, "SELECT pg_wal_lsn_diff(pg_last_wal_replay_lsn(), %s::pg_lsn) >= 0", (target,)
        )
        if done:
            return time.perf_counter() - start
        if time.perf_counter() - start > CATCH_UP_SECONDS:
            pytest.fail(f"the standby has not replayed {target} after {CATCH_UP_SECONDS}s")
        time.sleep(0.01)


class Queries:
    def __enter__(self) -> Queries:
        self._contexts = {
            a: CaptureQueriesContext(connections[a]) for a in (DEFAULT_DB_ALIAS, REPLICA)
        }
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for context in self._contexts.values():
            context.__exit__(*exc)

    def on(self, alias: str) -> list[str]:
        return [q["sql"] for q in self._contexts[alias].captured_queries]

    def statistics_on_default(self) -> list[str]:
        return [
            sql for sql in self.on(DEFAULT_DB_ALIAS) if not any(m in sql for m in PRIMARY_READS)
        ]


def test_the_two_aliases_are_a_primary_and_a_streaming_standby():
    primary = _one(DEFAULT_DB_ALIAS, "SELECT inet_server_port(), pg_is_in_recovery()")
    standby = _one(REPLICA, "SELECT inet_server_port(), pg_is_in_recovery()")
    (receiver,) = _one(REPLICA, "SELECT status FROM pg_stat_wal_receiver")
    (senders,) = _one(
        DEFAULT_DB_ALIAS, "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'"
    )
    print(f"\ndefault: port {primary[0]}, in recovery {primary[1]}")
    print(f"replica: port {standby[0]}, in recovery {standby[1]}, WAL receiver {receiver}")
    assert primary[1] is False and standby[1] is True
    assert primary[0] != standby[0]
    assert receiver == "streaming" and senders >= 1


def test_a_report_sent_through_the_site_reaches_the_replica(client, world):
    client.force_login(world.resident)
    lat, lon = feedback.HOAN_KIEM_LAKE
    response = client.post(
        reverse("feedback:new"),
        {
            "kind": "field",
            "category": "moi-truong-ve-sinh",
            "title": "Rác thải bên hồ",
            "description": "Rác tập kết trên vỉa hè.",
            "lat": str(lat),
            "lon": str(lon),
            "answer_van-de": "rac",
            "client_key": "replica-check-1",
            "photos": [feedback.upload()],
        },
    )
    assert response.status_code == 302
    report = Report.objects.get()  # on default
    start = time.perf_counter()
    while not Report.objects.using(REPLICA).filter(pk=report.pk).exists():
        assert time.perf_counter() - start < CATCH_UP_SECONDS, (
            "the report never reached the replica"
        )
        time.sleep(0.005)
    lag_ms = (time.perf_counter() - start) * 1000
    print(f"\nreport {report.pk} written on default, visible on the replica after {lag_ms:.0f} ms")
    # The page right after the form is the resident's own report: read from default.
    with Queries() as queries:
        assert client.get(response["Location"]).status_code == 200
    assert queries.on(REPLICA) == []


@pytest.fixture
def march(world, photo):  # noqa: F811 - the fixture imported above
    lead = User.objects.create_user(
        email="cn-lead@example.vn", password="x" * 12, role=Role.AGENCY_LEAD
    )
    Membership.objects.create(user=lead, agency=world.cn_committee, role="lead")
    data = write_march(world, lead, photo)
    rollup_run()
    caught_up()
    with time_machine.travel(NOW, tick=False):
        yield data


Q = "?period=month&date=2026-03-15"
PAGES = [
    ("dashboard", Q),
    ("rankings", Q),
    ("overdue", Q),
    ("places", Q),
    ("items", Q + "&metric=received"),
    ("adoption", ""),
    ("export", Q + "&table=agencies&fmt=csv"),
]


def test_the_oversight_pages_read_from_the_standby_and_resident_pages_from_the_primary(
    client, world, march
):
    client.force_login(world.oversight)
    print()
    for name, query in PAGES:
        with Queries() as queries:
            response = client.get(reverse(f"oversight:{name}") + query)
        assert response.status_code == 200, name
        on_default, on_replica = queries.on(DEFAULT_DB_ALIAS), queries.on(REPLICA)
        print(
            f"{name:>10}: {len(on_replica):3d} queries on the replica, {len(on_default)} on default"
        )
        assert on_replica, name
        assert queries.statistics_on_default() == [], name
    page = client.get(reverse("oversight:dashboard") + Q).content.decode()
    assert world.hk_committee.name in page and world.cn_committee.name in page
    with Queries() as queries:
        assert (
            client.get(reverse("oversight:public") + "?period=month&date=2026-03-01").status_code
            == 200
        )
    assert queries.on(REPLICA) and queries.statistics_on_default() == []
    client.force_login(world.resident)
    for url in (reverse("feedback:mine"), reverse("feedback:detail", args=[march.r1.public_id])):
        with Queries() as queries:
            assert client.get(url).status_code == 200
        counts = len(queries.on(DEFAULT_DB_ALIAS)), len(queries.on(REPLICA))
        print(f"resident page {url}: {counts[0]} queries on default, {counts[1]} on the replica")
        assert queries.on(REPLICA) == [] and queries.on(DEFAULT_DB_ALIAS)


def test_the_standby_refuses_writes(world):
    with pytest.raises(DatabaseError, match="read-only transaction"):
        Agency.objects.using(REPLICA).create(code="so-chi-doc", name="Sở Chỉ đọc")
    connections[REPLICA].close()
    probe = connections[REPLICA].cursor()
    with pytest.raises(DatabaseError, match="read-only transaction"), probe as cursor:
        cursor.execute("CREATE TABLE replica_write_probe (id int)")
    connections[REPLICA].close()
    assert not Agency.objects.filter(code="so-chi-doc").exists()
