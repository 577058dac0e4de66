"""Exports read back to the numbers of the pages; long ones run in the background with
progress; the monthly PDF is a real PDF with Vietnamese text in an embedded font."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from itertools import zip_longest

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from ihanoi.oversight import views
from ihanoi.oversight.models import ExportJob
from ihanoi.oversight.pdf import FontMissing, find_font
from ihanoi.oversight.services import export_job_run, rollup_run
from tests.oversight.scenario import NOW, write_march

Q = "?period=month&date=2026-03-15"


@pytest.fixture
def march(world, cn_lead, photo):
    data = write_march(world, cn_lead, photo)
    rollup_run()
    with time_machine.travel(NOW, tick=False):
        yield data


def _export(client, user, query):
    client.force_login(user)
    return client.get(reverse("oversight:export") + Q + query)


def _csv_rows(content: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def _xlsx_rows(content: bytes) -> list[dict[str, object]]:
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    # Read-only sheets drop the empty cells at the end of a row.
    return [dict(zip_longest(rows[0], row)) for row in rows[1:]]


def test_the_agency_table_reads_back_from_csv_and_xlsx(client, world, march):
    csv_rows = _csv_rows(_export(client, world.oversight, "&table=agencies&fmt=csv").content)
    xlsx_rows = _xlsx_rows(_export(client, world.oversight, "&table=agencies&fmt=xlsx").content)
    for rows in (csv_rows, xlsx_rows):
        hk = next(r for r in rows if r["Agency code"] == world.hk_committee.code)
        cn = next(r for r in rows if r["Agency code"] == world.cn_committee.code)
        assert float(hk["Received"]) == 6
        assert float(hk["Accepted on time (%)"]) == 80.0
        assert float(hk["Resolved on time (%)"]) == 100.0
        assert float(hk["Satisfaction (%)"]) == 75.0
        assert float(hk["Overdue now"]) == 1
        assert float(cn["Resolved on time (%)"]) == 0.0
        assert float(cn["Received by transfer"]) == 1
        total = next(r for r in rows if r["Agency"] == "Total")
        assert float(total["Submitted"]) == 7
        assert float(total["Rejected"]) == 1


def test_the_ranking_and_overdue_tables_export_their_numbers(client, world, march):
    ranking = _csv_rows(
        _export(
            client, world.oversight, "&table=rankings&fmt=csv&metric=accept_on_time&min_sample=2"
        ).content
    )
    assert ranking[0]["Agency code"] == world.hk_committee.code
    assert (ranking[0]["Rank"], ranking[0]["Successes"], ranking[0]["Items"]) == ("1", "4", "5")
    assert float(ranking[0]["95% interval, low (%)"]) == pytest.approx(37.6, abs=0.1)
    overdue = _xlsx_rows(_export(client, world.oversight, "&table=overdue&fmt=xlsx").content)
    assert [r["Report"] for r in overdue] == [march.r6.pk, march.r5.pk]
    assert overdue[0]["Late by (working hours)"] == 154.0
    named = _csv_rows(_export(client, world.oversight, "&table=named_units&fmt=csv").content)
    assert {r["Agency code"] for r in named} == {
        world.hk_committee.code,
        world.cn_committee.code,
    }


def test_an_agency_lead_exports_only_their_agency(client, world, march):
    rows = _csv_rows(_export(client, world.hk_lead, "&table=agencies&fmt=csv").content)
    assert {r["Agency code"] for r in rows} == {world.hk_committee.code, ""}
    items = _export(
        client,
        world.hk_lead,
        f"&table=items&fmt=csv&metric=received&agency={world.cn_committee.code}",
    )
    assert items.status_code == 403


def test_a_long_item_list_is_exported_in_the_background_with_progress(
    client, world, march, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(views, "INLINE_EXPORT_LIMIT", 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = _export(client, world.oversight, "&table=items&fmt=csv&metric=received")
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE and job.progress == 100
    page = client.get(response["Location"]).content.decode()
    assert reverse("oversight:export_download", args=[job.pk]) in page
    download = client.get(reverse("oversight:export_download", args=[job.pk]))
    rows = _csv_rows(b"".join(download.streaming_content))
    assert len(rows) == 8  # 6 received by Hoàn Kiếm, 2 by Cửa Nam
    # Another person cannot fetch it.
    client.force_login(world.hub_operator)
    assert client.get(reverse("oversight:export_download", args=[job.pk])).status_code == 404


def _font_or_skip():
    try:
        find_font()
    except FontMissing as exc:
        pytest.skip(str(exc))


def test_the_monthly_pdf_is_a_pdf_with_an_embedded_vietnamese_font(
    client, world, march, django_capture_on_commit_callbacks, tmp_path
):
    _font_or_skip()
    client.force_login(world.oversight)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("oversight:exports"), {"month": "2026-03", "agency": ""})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.status == ExportJob.Status.DONE, job.error
    content = job.file.read()
    assert content.startswith(b"%PDF-") and content.rstrip().endswith(b"%%EOF")
    assert b"FontFile2" in content  # a TrueType font is embedded
    pdftotext = shutil.which("pdftotext")
    if pdftotext:
        path = tmp_path / "report.pdf"
        path.write_bytes(content)
        text = subprocess.run(  # noqa: S603 (a fixed program on a file we wrote)
            [pdftotext, str(path), "-"], capture_output=True, check=True, text=True
        ).stdout
        assert "Phường Hoàn Kiếm" in text  # data, with its diacritics
        assert "Báo cáo tháng" in text  # the report's own words, in Vietnamese


def test_a_monthly_pdf_per_agency_is_refused_to_a_lead_of_another_agency(client, world, march):
    client.force_login(world.hk_lead)
    response = client.post(
        reverse("oversight:exports"), {"month": "2026-03", "agency": world.cn_committee.code}
    )
    assert response.status_code == 403
    response = client.post(reverse("oversight:exports"), {"month": "2026-03", "agency": ""})
    assert response.status_code == 403


@pytest.mark.parametrize("month", ["2026-13", "march", "", "1800-01"])
def test_a_bad_month_is_a_form_error(client, world, month):
    client.force_login(world.oversight)
    response = client.post(reverse("oversight:exports"), {"month": month})
    assert response.status_code == 400
    assert ExportJob.objects.count() == 0


def test_a_failed_job_says_why(world, monkeypatch):
    from ihanoi.oversight import pdf

    def missing():
        raise FontMissing("no font")

    monkeypatch.setattr(pdf, "find_font", missing)
    monkeypatch.setattr(pdf, "FONT", "NotRegisteredYet")
    job = ExportJob.objects.create(
        created_by=world.oversight, kind="monthly", fmt="pdf", params={"month": "2026-03"}
    )
    job = export_job_run(job_id=job.pk)
    assert job.status == ExportJob.Status.FAILED
    assert "no font" in job.error
