"""The read-replica router: decorated views and tasks read from ``replica``, writes and
everything else use ``default``; without a replica nothing changes.

The replica here is a second connection to the test database (``TEST MIRROR``), so no
replica server is needed: queries are told apart by the connection that ran them. Tests
that run pages are transactional, so that the second connection sees the committed rows.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from django.contrib.sessions.models import Session
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tasks_db.models import DBTaskResult

from ihanoi.accounts.models import Role, User
from ihanoi.agencies.models import Agency, Membership
from ihanoi.api.models import DeviceToken, LoginCode
from ihanoi.feedback.models import Report
from ihanoi.lib import dbrouter
from ihanoi.lib.dbrouter import (
    PIN_COOKIE,
    REPLICA,
    ReplicaRouter,
    primary_reads,
    reading_from_replica,
    reads_from_replica,
    replica_reads,
)
from ihanoi.open311.models import ApiKey
from ihanoi.oversight import views
from ihanoi.oversight.models import AgencyDay, ExportJob
from ihanoi.oversight.services import rollup_run
from tests.feedback import conftest as feedback
from tests.lib.replica_alias import mirror_of_default, replica_alias
from tests.oversight.scenario import NOW, write_march

world = feedback.world
_media_in_tmp = feedback._media_in_tmp

ROUTER = "ihanoi.lib.dbrouter.ReplicaRouter"
PIN_MIDDLEWARE = "ihanoi.lib.dbrouter.PinPrimaryAfterWriteMiddleware"
Q = "?period=month&date=2026-03-15"
BOTH = pytest.mark.django_db(transaction=True, databases=[DEFAULT_DB_ALIAS, REPLICA])

# What a signed-in page reads from default before and around the view (session, user and
# MFA state, who leads which agency) plus, on PostgreSQL, the histogram SQL that the
# oversight selectors run on django.db.connection.
PRIMARY_READS = (
    '"django_session"',
    '"accounts_user"',
    '"mfa_authenticator"',
    '"agencies_membership"',
    '"oversight_exportjob"',
    "WITH t(g,",
)


@pytest.fixture(scope="module", autouse=True)
def _replica_alias(django_db_setup, django_db_blocker) -> Iterator[None]:
    with django_db_blocker.unblock(), replica_alias(mirror_of_default()):
        yield


@pytest.fixture(autouse=True)
def _router(settings) -> None:
    settings.DATABASE_ROUTERS = [ROUTER]


class Queries:
    """The SQL run on each alias inside the ``with`` block."""

    def __enter__(self) -> Queries:
        self._contexts = {
            alias: CaptureQueriesContext(connections[alias])
            for alias in (DEFAULT_DB_ALIAS, REPLICA)
        }
        for context in self._contexts.values():
            context.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for context in self._contexts.values():
            context.__exit__(*exc)

    def on(self, alias: str) -> list[str]:
        return [q["sql"] for q in self._contexts[alias].captured_queries]


def _is_primary_read(sql: str) -> bool:
    return any(marker in sql for marker in PRIMARY_READS)


def _statistics_on_default(queries: Queries) -> list[str]:
    return [sql for sql in queries.on(DEFAULT_DB_ALIAS) if not _is_primary_read(sql)]


# --- The router's decisions ------------------------------------------------------------------


def test_outside_a_replica_context_reads_and_writes_go_to_default():
    router = ReplicaRouter()
    assert router.db_for_read(Report) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Report) == DEFAULT_DB_ALIAS
    assert not reading_from_replica()


def test_inside_replica_reads_reads_go_to_the_replica_and_writes_to_default():
    router = ReplicaRouter()
    with replica_reads():
        assert reading_from_replica()
        assert router.db_for_read(Report) == REPLICA
        assert router.db_for_read(AgencyDay) == REPLICA
        assert router.db_for_write(Report) == DEFAULT_DB_ALIAS
    assert router.db_for_read(Report) == DEFAULT_DB_ALIAS


def test_contexts_nest_and_the_innermost_wins():
    router = ReplicaRouter()
    with replica_reads():
        with primary_reads():
            assert router.db_for_read(Report) == DEFAULT_DB_ALIAS
            with replica_reads():
                assert router.db_for_read(Report) == REPLICA
            assert router.db_for_read(Report) == DEFAULT_DB_ALIAS
        assert router.db_for_read(Report) == REPLICA
        with replica_reads():
            assert router.db_for_read(Report) == REPLICA
        assert router.db_for_read(Report) == REPLICA
    assert router.db_for_read(Report) == DEFAULT_DB_ALIAS


def test_an_exception_leaves_the_context_cleanly():
    with pytest.raises(ZeroDivisionError), replica_reads():
        1 / 0  # noqa: B018
    assert not reading_from_replica()


def test_sign_in_state_permissions_the_queue_and_export_jobs_stay_on_default():
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator
    from django.core.cache.backends.db import DatabaseCache

    cache_model = DatabaseCache("ihanoi_cache", {}).cache_model_class
    router = ReplicaRouter()
    with replica_reads():
        for model in (
            Session,
            EmailAddress,
            Authenticator,
            DBTaskResult,
            cache_model,
            Membership,
            ExportJob,
            ApiKey,
            DeviceToken,
            LoginCode,
        ):
            assert router.db_for_read(model) == DEFAULT_DB_ALIAS, model
        assert router.db_for_read(Agency) == REPLICA


def test_relations_across_the_aliases_are_allowed_and_migrations_run_on_default_only():
    router = ReplicaRouter()
    from_replica, from_default, unsaved = Agency(), Agency(), Agency()
    from_replica._state.db = REPLICA
    from_default._state.db = DEFAULT_DB_ALIAS
    assert router.allow_relation(from_replica, from_default) is True
    assert router.allow_relation(unsaved, from_replica) is True
    elsewhere = Agency()
    elsewhere._state.db = "archive"
    assert router.allow_relation(elsewhere, from_default) is None
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "feedback", "report") is True
    assert router.allow_migrate(REPLICA, "feedback", "report") is False


def test_the_decorator_keeps_the_function_and_its_result():
    @reads_from_replica
    def count_words(text: str) -> int:
        """Counts."""
        assert reading_from_replica()
        return len(text.split())

    assert count_words("một hai ba") == 3
    assert count_words.__name__ == "count_words" and count_words.__doc__ == "Counts."
    assert not reading_from_replica()


def test_the_decorator_works_on_coroutines():
    @reads_from_replica
    async def where() -> str:
        await asyncio.sleep(0)
        return ReplicaRouter().db_for_read(Report)

    # In a thread of its own: an earlier test (the browser tests) may have left an event
    # loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, where()).result() == REPLICA


def test_a_request_that_may_write_or_follows_a_write_reads_from_default():
    seen: list[str] = []

    @reads_from_replica
    def view(request):
        seen.append(ReplicaRouter().db_for_read(Report))

    factory = RequestFactory()
    view(factory.get("/"))
    view(factory.head("/"))
    view(factory.post("/"))
    pinned = factory.get("/")
    pinned.COOKIES[PIN_COOKIE] = "1"
    view(pinned)
    assert seen == [REPLICA, REPLICA, DEFAULT_DB_ALIAS, DEFAULT_DB_ALIAS]


def test_without_a_replica_alias_the_context_is_a_no_op():
    with replica_alias(None), replica_reads():
        assert not reading_from_replica()
        assert ReplicaRouter().db_for_read(Report) == DEFAULT_DB_ALIAS


# --- Queries on real connections -------------------------------------------------------------


@BOTH
def test_reads_go_to_the_replica_connection_and_writes_to_default(world):
    with Queries() as queries, replica_reads():
        agency = Agency.objects.create(code="so-thu-nghiem", name="Sở Thử nghiệm")
        # The mirror shares the database, so the committed row is there to read.
        assert Agency.objects.get(code="so-thu-nghiem").pk == agency.pk
        agency.name = "Sở Thử nghiệm mới"
        agency.save()
        assert Agency.objects.filter(pk=agency.pk).update(is_active=False) == 1
    assert any(sql.startswith("INSERT") for sql in queries.on(DEFAULT_DB_ALIAS))
    assert any(sql.startswith("UPDATE") for sql in queries.on(DEFAULT_DB_ALIAS))
    assert not any(sql.startswith(("INSERT", "UPDATE")) for sql in queries.on(REPLICA))
    assert any(sql.startswith("SELECT") for sql in queries.on(REPLICA))
    assert Agency.objects.get(pk=agency.pk).is_active is False


@BOTH
def test_reads_inside_a_transaction_stay_with_the_transaction(world):
    with Queries() as queries, replica_reads(), transaction.atomic():
        agency = Agency.objects.create(code="so-giao-dich", name="Sở Giao dịch")
        # Only the transaction's own connection can see this row before the commit.
        assert Agency.objects.filter(pk=agency.pk).exists()
    assert queries.on(REPLICA) == []


@pytest.fixture
def march(world, photo):
    lead = User.objects.create_user(
        email="cn-lead@example.vn", password="x" * 12, role=Role.AGENCY_LEAD
    )
    Membership.objects.create(user=lead, agency=world.cn_committee, role="lead")
    data = write_march(world, lead, photo)
    rollup_run()
    with time_machine.travel(NOW, tick=False):
        yield data


@pytest.fixture(scope="module")
def photo():
    return feedback.prepared_photo()


DECORATED_PAGES = [
    ("dashboard", Q),
    ("rankings", Q),
    ("overdue", Q),
    ("places", Q),
    ("items", Q + "&metric=received"),
    ("adoption", ""),
    ("export", Q + "&table=agencies&fmt=csv"),
    ("export", Q + "&table=items&fmt=xlsx&metric=received"),
]


@BOTH
def test_the_oversight_pages_read_their_statistics_from_the_replica(client, world, march):
    client.force_login(world.oversight)
    for name, query in DECORATED_PAGES:
        with Queries() as queries:
            response = client.get(reverse(f"oversight:{name}") + query)
        assert response.status_code == 200, name
        assert len(queries.on(REPLICA)) > 0, name
        assert _statistics_on_default(queries) == [], name
    # The numbers are the real ones, read through the replica connection.
    page = client.get(reverse("oversight:dashboard") + Q).content.decode()
    assert world.hk_committee.name in page and world.cn_committee.name in page


@BOTH
def test_the_public_statistics_read_from_the_replica(client, world, march):
    with Queries() as queries:
        response = client.get(reverse("oversight:public") + "?period=month&date=2026-03-01")
    assert response.status_code == 200
    assert len(queries.on(REPLICA)) > 0
    assert queries.on(DEFAULT_DB_ALIAS) == []


@BOTH
def test_pages_that_show_ones_own_writes_stay_on_default(client, world, march):
    client.force_login(world.oversight)
    job = ExportJob.objects.create(created_by=world.oversight, kind="items", fmt="csv")
    for url in (reverse("oversight:exports"), reverse("oversight:export_job", args=[job.pk])):
        with Queries() as queries:
            assert client.get(url).status_code == 200
        assert queries.on(REPLICA) == [], url
    resident_pages = [
        reverse("feedback:mine"),
        reverse("feedback:detail", args=[march.r1.public_id]),
    ]
    client.force_login(world.resident)
    for url in resident_pages:
        with Queries() as queries:
            assert client.get(url).status_code == 200
        assert queries.on(REPLICA) == [], url


@BOTH
def test_a_background_export_reads_from_the_replica_and_writes_its_job_on_default(
    client, world, march, monkeypatch
):
    monkeypatch.setattr(views, "INLINE_EXPORT_LIMIT", 2)
    client.force_login(world.oversight)
    with Queries() as queries:
        # Autocommit: the job is committed and the (immediate) task runs right away.
        response = client.get(
            reverse("oversight:export") + Q + "&table=items&fmt=csv&metric=received"
        )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE, job.error
    on_default, on_replica = queries.on(DEFAULT_DB_ALIAS), queries.on(REPLICA)
    assert any(s.startswith("INSERT") and '"oversight_exportjob"' in s for s in on_default)
    assert any(s.startswith("UPDATE") and '"oversight_exportjob"' in s for s in on_default)
    assert not any('"oversight_exportjob"' in sql for sql in on_replica)
    assert any('"oversight_fact"' in sql for sql in on_replica)
    assert _statistics_on_default(queries) == []


@BOTH
def test_after_a_form_the_same_browser_reads_from_default_for_a_moment(
    client, settings, world, march
):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, PIN_MIDDLEWARE]
    settings.DATABASE_REPLICA_PIN_SECONDS = 5
    client.force_login(world.oversight)
    response = client.post(reverse("oversight:rollup_now"))
    assert response.status_code == 302
    cookie = response.cookies[PIN_COOKIE]
    assert cookie["max-age"] == 5 and cookie["httponly"]
    with Queries() as queries:
        assert client.get(response["Location"]).status_code == 200
    assert queries.on(REPLICA) == []
    # Once the cookie has expired, the dashboard is back on the replica; a GET sets none.
    del client.cookies[PIN_COOKIE]
    with Queries() as queries:
        response = client.get(reverse("oversight:dashboard") + Q)
    assert len(queries.on(REPLICA)) > 0
    assert PIN_COOKIE not in response.cookies


@BOTH
def test_permissions_are_unchanged_with_a_replica(client, world, march):
    dashboard = reverse("oversight:dashboard") + Q
    response = client.get(dashboard)
    assert response.status_code == 302 and "login" in response["Location"]
    for person in (world.resident, world.hk_officer):
        client.force_login(person)
        for name, query in DECORATED_PAGES:
            assert client.get(reverse(f"oversight:{name}") + query).status_code == 403
    client.force_login(world.hk_lead)
    page = client.get(dashboard).content.decode()
    assert world.hk_committee.name in page and world.cn_committee.name not in page
    other = f"{dashboard}&agency={world.cn_committee.code}"
    assert client.get(other).status_code == 403
    assert client.get(reverse("oversight:adoption")).status_code == 403
    # A lead who loses the membership is refused at once: memberships are read from default.
    Membership.objects.filter(user=world.hk_lead).delete()
    assert client.get(dashboard).status_code == 403


@BOTH
def test_without_a_replica_the_pages_answer_from_default(client, world, march):
    client.force_login(world.oversight)
    with replica_alias(None), CaptureQueriesContext(connections[DEFAULT_DB_ALIAS]) as queries:
        for name, query in DECORATED_PAGES:
            assert client.get(reverse(f"oversight:{name}") + query).status_code == 200, name
        assert not dbrouter.replica_configured()
    assert len(queries.captured_queries) > 0


# --- Settings --------------------------------------------------------------------------------


def _settings_with(**env: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DATABASE_")}
    full_env.update(env, DJANGO_SETTINGS_MODULE="ihanoi.settings")
    code = (
        "from django.conf import settings as s;"
        "r = s.DATABASES.get('replica');"
        "print(sorted(s.DATABASES), r and r['TEST'], r and (r['HOST'], r['PORT'], r['NAME']),"
        " s.DATABASE_ROUTERS, s.MIDDLEWARE[-1].rsplit('.', 1)[-1])"
    )
    return subprocess.run(  # noqa: S603 - a fixed script, run by this interpreter
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


PRIMARY_URL = "postgres://ihanoi@db1:5432/ihanoi"


def test_a_replica_url_adds_the_alias_the_router_and_the_pin():
    result = _settings_with(
        DATABASE_URL=PRIMARY_URL, DATABASE_REPLICA_URL="postgres://ihanoi@db2:5433/ihanoi"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "['default', 'replica'] {'MIRROR': 'default'} ('db2', 5433, 'ihanoi') "
        "['ihanoi.lib.dbrouter.ReplicaRouter'] PinPrimaryAfterWriteMiddleware"
    )


def test_without_a_replica_url_there_is_no_alias_and_no_router():
    result = _settings_with(DATABASE_URL=PRIMARY_URL)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("['default'] None None [] ")
    assert "PinPrimaryAfterWriteMiddleware" not in result.stdout


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("db2:5433", "DATABASE_REPLICA_URL is not a database URL"),
        ("sqlite:///replica.sqlite3", "must use the same database engine as DATABASE_URL"),
    ],
)
def test_a_bad_replica_url_stops_start_up_with_a_message(url, message):
    result = _settings_with(DATABASE_URL=PRIMARY_URL, DATABASE_REPLICA_URL=url)
    assert result.returncode != 0
    assert message in result.stderr


@BOTH
def test_the_public_lists_and_open311_reads_come_from_the_replica(client, world, march):
    public_reads = [
        reverse("feedback:public_list"),
        reverse("feedback:map_data"),
        reverse("open311:requests", kwargs={"fmt": "json"}),
        reverse("open311:services", kwargs={"fmt": "json"}),
    ]
    for url in public_reads:
        with Queries() as queries:
            assert client.get(url).status_code == 200, url
        assert len(queries.on(REPLICA)) > 0, url
        assert _statistics_on_default(queries) == [], url
    # Read right after a client's own POST (no cookie to pin it): stays on default.
    detail = reverse("open311:request", kwargs={"fmt": "json", "request_id": str(march.r1.pk)})
    with Queries() as queries:
        assert client.get(detail).status_code in (200, 404)
    assert queries.on(REPLICA) == []
