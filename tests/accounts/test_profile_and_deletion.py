import unicodedata

import pytest
from django.urls import reverse

from ihanoi.accounts.models import Role, User
from ihanoi.accounts.services import staff_user_create
from tests.accounts.helpers import last_code_sent_to

pytestmark = pytest.mark.django_db


@pytest.fixture
def resident(client):
    user = User.objects.create_user(phone="+84912000002", phone_verified=True, full_name="Đỗ Văn C")
    client.force_login(user)
    return user


def test_profile_requires_sign_in(client):
    response = client.get(reverse("accounts:profile"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_resident_sees_their_number_and_updates_name_and_email(client, resident):
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "0912 000 002" in page
    response = client.post(
        reverse("accounts:profile"), {"full_name": "Đỗ Văn Công", "email": "CONG@Example.vn"}
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.full_name == "Đỗ Văn Công"
    assert resident.email == "cong@example.vn"


def test_decomposed_vietnamese_input_is_stored_as_nfc(client, resident):
    # Some keyboards send decomposed letters (NFD); stored text is always NFC.
    typed = unicodedata.normalize("NFD", "Đỗ Văn Công")
    assert typed != "Đỗ Văn Công"
    client.post(reverse("accounts:profile"), {"full_name": typed, "email": ""})
    resident.refresh_from_db()
    assert resident.full_name == "Đỗ Văn Công"


@pytest.mark.parametrize(
    "data",
    [
        {"full_name": "x" * 151, "email": ""},
        {"full_name": "A", "email": "not-an-email"},
    ],
)
def test_bad_profile_input_is_refused_and_nothing_changes(client, resident, data):
    response = client.post(reverse("accounts:profile"), data)
    assert response.status_code == 200
    assert response.context["form"].errors
    resident.refresh_from_db()
    assert resident.full_name == "Đỗ Văn C"
    assert resident.email is None


def test_an_email_already_used_by_someone_else_is_refused(client, resident):
    User.objects.create_user(email="taken@example.vn", password="x" * 12)
    response = client.post(
        reverse("accounts:profile"), {"full_name": "A", "email": "taken@example.vn"}
    )
    assert response.status_code == 200
    resident.refresh_from_db()
    assert resident.email is None


def test_staff_cannot_blank_the_email_they_sign_in_with(client):
    staff = staff_user_create(
        email="o@example.vn", password="pw-long-enough-1", role=Role.AGENCY_OFFICER
    )
    client.force_login(staff)
    response = client.post(reverse("accounts:profile"), {"full_name": "O", "email": ""})
    assert response.status_code == 200
    staff.refresh_from_db()
    assert staff.email == "o@example.vn"


def test_deletion_needs_the_confirmation_box(client, resident):
    response = client.post(reverse("accounts:delete"), {})
    assert response.status_code == 200
    resident.refresh_from_db()
    assert resident.is_active and resident.anonymised_at is None


def test_deletion_anonymises_signs_out_and_frees_the_number(client, resident):
    response = client.post(reverse("accounts:delete"), {"confirm": "on"})
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.anonymised_at is not None
    assert resident.phone is None and resident.email is None and resident.full_name == ""
    assert not resident.is_active
    assert str(resident) in ("Deleted user", "Người dùng đã xóa")
    assert client.get(reverse("accounts:profile")).status_code == 302

    # The number can register again: a new, separate account.
    client.post(reverse("account_signup"), {"phone": "0912 000 002"})
    client.post(reverse("account_verify_phone"), {"code": last_code_sent_to("+84912000002")})
    new_user = User.objects.get(phone="+84912000002")
    assert new_user.pk != resident.pk


def test_deleted_account_other_sessions_end(client, resident):
    from django.test import Client

    other_device = Client()
    other_device.force_login(resident)
    assert other_device.get(reverse("accounts:profile")).status_code == 200
    client.post(reverse("accounts:delete"), {"confirm": "on"})
    assert other_device.get(reverse("accounts:profile")).status_code == 302


def test_sign_out_requires_post_and_ends_the_session(client, resident):
    client.post(reverse("account_logout"))
    assert client.get(reverse("accounts:profile")).status_code == 302
