"""Signing the app in with a code by SMS: one code per request, five minutes, three tries,
once; limits per number and per address; the token works until it is revoked."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from ihanoi.accounts.models import Role, User
from ihanoi.accounts.services import user_delete_account
from ihanoi.accounts.sms import LocMemSMSBackend
from ihanoi.api.models import DeviceToken, LoginCode
from tests.api.conftest import assert_error

PHONE = "0987 654 321"
E164 = "+84987654321"


def _last_code() -> str:
    message = LocMemSMSBackend.outbox[-1]
    match = re.search(r"\b(\d{6})\b", message.body)
    assert match, message.body
    return match.group(1)


def _request(api, phone=PHONE, **kw):
    return api.post("/auth/code", {"phone": phone}, **kw)


def _verify(api, code, phone=PHONE, device_name="Lan's Galaxy", **kw):
    return api.post("/auth/token", {"phone": phone, "code": code, "device_name": device_name}, **kw)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_a_new_number_gets_a_code_and_its_first_sign_in_creates_a_resident(db, anonymous):
    response = _request(anonymous)
    assert response.status_code == 202
    assert response.json() == {"phone": E164, "expires_in": 300, "code_length": 6}
    assert LocMemSMSBackend.outbox[-1].to == E164
    assert not User.objects.filter(phone=E164).exists()  # nothing until the code is typed

    response = _verify(anonymous, _last_code())
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["new_account"] is True
    assert body["user"]["phone"] == E164
    assert body["user"]["role"] == "resident"
    assert body["device"]["name"] == "Lan's Galaxy"
    assert body["device"]["current"] is True
    user = User.objects.get(phone=E164)
    assert user.role == Role.RESIDENT and user.phone_verified
    # The token is stored hashed; its prefix is shown to recognise it.
    device = DeviceToken.objects.get(user=user)
    assert body["token"].startswith(f"ihn_{device.prefix}_")
    assert body["token"] not in device.token_hash

    anonymous.token = body["token"]
    me = anonymous.get("/me")
    assert me.status_code == 200
    assert me.json()["phone_display"] == "0987 654 321"


def test_an_existing_resident_signs_in_to_the_same_account(world, anonymous):
    _request(anonymous, "0912 000 101")
    response = _verify(anonymous, _last_code(), phone="+84912000101")
    assert response.status_code == 201
    assert response.json()["new_account"] is False
    assert response.json()["user"]["id"] == world.resident.pk


@pytest.mark.parametrize("phone", ["", "12345", "+1 202 555 0100", "not a number", "0" * 40])
def test_an_invalid_number_is_refused_and_no_sms_goes(db, anonymous, phone):
    error = assert_error(_request(anonymous, phone), 400, "invalid")
    assert "phone" in error["fields"]
    assert not LocMemSMSBackend.outbox
    assert not LoginCode.objects.exists()


@pytest.mark.parametrize(
    "body",
    [{}, {"phone": 912345678}, {"phone": None}, [], '"0912345678"', {"phone": ["09"]}],
)
def test_a_malformed_code_request_is_a_400_with_the_error_shape(db, anonymous, body):
    response = anonymous.client.post("/api/v1/auth/code", body, content_type="application/json")
    assert_error(response, 400, "invalid")
    assert not LoginCode.objects.exists()


def test_a_body_that_is_not_json_is_a_400(db, anonymous):
    response = anonymous.client.post(
        "/api/v1/auth/code", "{not json", content_type="application/json"
    )
    assert_error(response, 400, "bad_request")


def test_a_wrong_code_is_refused_and_counts_an_attempt(db, anonymous):
    _request(anonymous)
    code = _last_code()
    error = assert_error(_verify(anonymous, _wrong(code)), 400, "invalid")
    assert error["fields"]["code"] == ["The code is not correct."]
    assert LoginCode.objects.get().attempts == 1
    assert not User.objects.filter(phone=E164).exists()
    # The right code still works after one mistake.
    assert _verify(anonymous, code).status_code == 201


def test_three_wrong_codes_kill_the_code(db, anonymous):
    _request(anonymous)
    code = _last_code()
    for _attempt in range(2):
        assert_error(_verify(anonymous, _wrong(code)), 400, "invalid")
    error = assert_error(_verify(anonymous, _wrong(code)), 400, "invalid")
    assert error["fields"]["code"] == ["Too many wrong codes. Request a new code."]
    # Even the right code is refused now: a new one must be requested.
    error = assert_error(_verify(anonymous, code), 400, "invalid")
    assert error["fields"]["code"] == ["Too many wrong codes. Request a new code."]
    assert not DeviceToken.objects.exists()


def test_an_expired_code_is_refused(db, anonymous):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        _request(anonymous)
        code = _last_code()
        clock.shift(datetime.timedelta(minutes=5, seconds=1))
        error = assert_error(_verify(anonymous, code), 400, "invalid")
    assert "expired" in error["fields"]["code"][0]
    assert not DeviceToken.objects.exists()


def test_a_code_works_only_once(db, anonymous):
    _request(anonymous)
    code = _last_code()
    assert _verify(anonymous, code).status_code == 201
    error = assert_error(_verify(anonymous, code, device_name="Another"), 400, "invalid")
    assert "already used" in error["fields"]["code"][0]
    assert DeviceToken.objects.count() == 1


def test_a_new_code_replaces_the_previous_one(db, anonymous):
    _request(anonymous)
    first = _last_code()
    _request(anonymous)
    second = _last_code()
    if first != second:
        assert_error(_verify(anonymous, first), 400, "invalid")
    assert _verify(anonymous, second).status_code == 201


def test_a_code_without_six_digits_is_refused_without_using_an_attempt(db, anonymous):
    _request(anonymous)
    for bad in ["12345", "1234567", "abcdef", "١٢٣٤٥٦"]:
        error = assert_error(_verify(anonymous, bad), 400, "invalid")
        assert error["fields"]["code"] == ["Enter the 6 digits of the code."]
    assert LoginCode.objects.get().attempts == 0


def test_a_code_typed_with_spaces_is_accepted(db, anonymous):
    _request(anonymous)
    code = _last_code()
    assert _verify(anonymous, f"{code[:3]} {code[3:]}").status_code == 201


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_a_device_needs_a_name_of_reasonable_length(db, anonymous, name):
    _request(anonymous)
    error = assert_error(_verify(anonymous, _last_code(), device_name=name), 400, "invalid")
    assert "device_name" in error["fields"]
    assert not DeviceToken.objects.exists()
    assert LoginCode.objects.get().used_at is None  # the code was not spent


def test_a_fourth_code_in_ten_minutes_for_one_number_is_refused(db, anonymous):
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _attempt in range(3):
            assert _request(anonymous).status_code == 202
        response = _request(anonymous)
        error = assert_error(response, 429, "rate_limited")
        assert int(response["Retry-After"]) > 0
        assert "Try again" in error["message"]
        assert len(LocMemSMSBackend.outbox) == 3
        # Another number from the same address is still served.
        assert _request(anonymous, "0912 345 678").status_code == 202
        clock.shift(datetime.timedelta(minutes=10, seconds=1))
        assert _request(anonymous).status_code == 202


def test_one_address_may_ask_for_twenty_codes_an_hour(db, anonymous):
    with time_machine.travel(timezone.now(), tick=False):
        for number in range(20):
            assert _request(anonymous, f"09123450{number:02d}").status_code == 202
        assert_error(_request(anonymous, "0912345099"), 429, "rate_limited")
        # From another address the same number is fine.
        response = anonymous.client.post(
            "/api/v1/auth/code",
            {"phone": "0912345099"},
            content_type="application/json",
            REMOTE_ADDR="10.9.8.7",
        )
        assert response.status_code == 202
    assert len(LocMemSMSBackend.outbox) == 21


def test_wrong_codes_from_one_address_are_limited_across_numbers(db, anonymous):
    from ihanoi.api.services import CODE_FAILURES_PER_IP

    with time_machine.travel(timezone.now(), tick=False):
        for attempt in range(CODE_FAILURES_PER_IP.count):
            assert_error(
                _verify(anonymous, "000000", phone=f"09123451{attempt:02d}"), 400, "invalid"
            )
        assert_error(_verify(anonymous, "000000", phone="0912345199"), 429, "rate_limited")


def test_a_switched_off_account_gets_no_code_and_cannot_sign_in(world, anonymous):
    world.resident.is_active = False
    world.resident.save()
    assert _request(anonymous, "0912000101").status_code == 202  # the same answer
    assert not LocMemSMSBackend.outbox
    assert_error(_verify(anonymous, "123456", phone="0912000101"), 400, "invalid")
    assert not DeviceToken.objects.exists()


def test_an_account_switched_off_after_the_code_was_sent_is_refused(world, anonymous):
    _request(anonymous, "0912000101")
    User.objects.filter(pk=world.resident.pk).update(is_active=False)
    error = assert_error(_verify(anonymous, _last_code(), phone="0912000101"), 403, "forbidden")
    assert "switched off" in error["message"]
    assert not DeviceToken.objects.exists()


def test_staff_cannot_sign_in_to_the_app_with_a_code_alone(world, anonymous):
    User.objects.filter(pk=world.hub_operator.pk).update(phone="+84912000999")
    _request(anonymous, "0912000999")
    error = assert_error(_verify(anonymous, _last_code(), phone="0912000999"), 403, "forbidden")
    assert "website" in error["message"]
    assert not DeviceToken.objects.exists()


def test_a_deleted_account_s_tokens_stop_working(world, resident_api):
    assert resident_api.get("/me").status_code == 200
    user_delete_account(user=User.objects.get(pk=world.resident.pk))
    assert_error(resident_api.get("/me"), 401, "unauthorized")


def test_signing_out_revokes_this_token_only(world, api_as):
    phone = api_as(world.resident)
    tablet = api_as(world.resident)
    response = phone.delete("/auth/token")
    assert response.status_code == 204
    assert_error(phone.get("/me"), 401, "unauthorized")
    assert tablet.get("/me").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer nonsense",
        "Bearer ihn_000000000000_abc",
        "Bearer ihn__",
        "Token ihn_000000000000_abc",
        "Bearer " + "x" * 5000,
    ],
)
def test_without_a_valid_token_the_private_operations_answer_401(db, anonymous, header):
    headers = {"Authorization": header} if header is not None else {}
    for method, path in [
        ("get", "/me"),
        ("get", "/me/devices"),
        ("get", "/me/reports"),
        ("get", "/notifications"),
        ("delete", "/auth/token"),
    ]:
        response = getattr(anonymous, method)(path, headers=headers)
        error = assert_error(response, 401, "unauthorized")
        assert response["WWW-Authenticate"].startswith("Bearer")
        assert error["message"]


def test_a_revoked_token_is_refused_even_where_signing_in_is_optional(world, resident_api):
    resident_api.delete("/auth/token")
    error = assert_error(
        resident_api.get(
            "/reports/nearby", {"lat": 21.03, "lon": 105.85, "category": "giao-thong"}
        ),
        401,
        "unauthorized",
    )
    assert "Sign in again" in error["message"]


def test_a_token_with_a_tampered_secret_is_refused(world, resident_api):
    resident_api.token = resident_api.token[:-2] + (
        "AA" if not resident_api.token.endswith("AA") else "BB"
    )
    assert_error(resident_api.get("/me"), 401, "unauthorized")


def test_use_of_a_token_is_recorded_at_most_every_few_minutes(world, resident_api):
    device = DeviceToken.objects.get(user=world.resident)
    with time_machine.travel(timezone.now() + datetime.timedelta(hours=1), tick=False):
        resident_api.get("/me")
        device.refresh_from_db()
        first = device.last_used_at
        resident_api.get("/me")
        device.refresh_from_db()
        assert device.last_used_at == first


@pytest.mark.vietnamese
def test_sign_in_messages_are_vietnamese_by_default_and_english_on_request(db, anonymous):
    vi = assert_error(_request(anonymous, "12"), 400, "invalid")
    assert "Enter a Vietnamese" not in vi["fields"]["phone"][0]
    anonymous.language = "en-GB,en;q=0.9"
    en = assert_error(_request(anonymous, "12"), 400, "invalid")
    assert en["fields"]["phone"][0].startswith("This is not a valid phone number")
    # The SMS follows the app's language too.
    anonymous.language = "vi"
    _request(anonymous)
    assert "Do not share" not in LocMemSMSBackend.outbox[-1].body


def test_expired_codes_are_purged_a_day_later(db, anonymous):
    from ihanoi.api.tasks import purge_login_codes

    with time_machine.travel(timezone.now(), tick=False) as clock:
        _request(anonymous)
        clock.shift(datetime.timedelta(hours=23))
        _request(anonymous, "0912 345 678")
        clock.shift(datetime.timedelta(hours=2))
        result = purge_login_codes.enqueue()
        assert result.return_value == 1
    assert list(LoginCode.objects.values_list("phone", flat=True)) == ["+84912345678"]


def test_behind_the_proxy_the_limit_counts_the_client_not_the_proxy(db, anonymous, settings):
    # nginx overwrites X-Real-IP with the client's address (deploy/nginx.conf.template);
    # every request reaches the application from the proxy's own address.
    settings.ALLAUTH_TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"

    def ask(number: int, client: str) -> int:
        response = anonymous.client.post(
            "/api/v1/auth/code",
            {"phone": f"09123451{number:02d}"},
            content_type="application/json",
            REMOTE_ADDR="127.0.0.1",
            headers={"X-Real-IP": client},
        )
        return response.status_code

    with time_machine.travel(timezone.now(), tick=False):
        assert [ask(n, "203.0.113.7") for n in range(20)] == [202] * 20
        assert ask(20, "203.0.113.7") == 429
        # Another resident behind the same proxy is not blocked by the first one's requests.
        assert ask(21, "198.51.100.9") == 202
