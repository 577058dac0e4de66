"""Hanoi's agencies as data: the receiving hub, the city departments after the reorganisation
of 2025-03-01, the city police and the main utilities. Ward/commune People's Committees are
not listed here: ``services.agencies_seed`` makes one for every current ward in the database.

Every entry was checked against a public source; docs/agencies.md lists the sources and what
could not be verified. Contact fields are filled only where a source gave them: a blank field
is honest, a guessed one sends residents to the wrong door.
"""

from __future__ import annotations

from dataclasses import dataclass

from ihanoi.agencies.models import Agency

Kind = Agency.Kind


@dataclass(frozen=True)
class AgencySeed:
    code: str
    name: str
    name_en: str
    short_name: str
    kind: str
    serves_whole_city: bool = True
    phone: str = ""
    website: str = ""
    address: str = ""


# The centre that answers the city's 024.1022 line and reports on iHaNoi intake (docs, [H1-H3]).
HUB = AgencySeed(
    code="ttpvhcc",
    name="Trung tâm Phục vụ hành chính công thành phố Hà Nội",
    name_en="Hanoi Public Administration Service Centre",
    short_name="TTPVHCC Hà Nội",
    kind=Kind.HUB,
    phone="024 1022",
    website="https://ttpvhcc.hanoi.gov.vn/",
)

# The 15 specialised agencies of the City People's Committee from 2025-03-01 (Resolution
# 06/NQ-HĐND of 2025-02-25), in the order the resolution's press coverage lists them [D1].
DEPARTMENTS: tuple[AgencySeed, ...] = (
    AgencySeed(
        "so-noi-vu", "Sở Nội vụ", "Department of Home Affairs", "Sở Nội vụ", Kind.DEPARTMENT
    ),
    AgencySeed("so-tu-phap", "Sở Tư pháp", "Department of Justice", "Sở Tư pháp", Kind.DEPARTMENT),
    AgencySeed(
        "so-tai-chinh", "Sở Tài chính", "Department of Finance", "Sở Tài chính", Kind.DEPARTMENT
    ),
    AgencySeed(
        "so-cong-thuong",
        "Sở Công Thương",
        "Department of Industry and Trade",
        "Sở Công Thương",
        Kind.DEPARTMENT,
    ),
    AgencySeed(
        "so-nong-nghiep-moi-truong",
        "Sở Nông nghiệp và Môi trường",
        "Department of Agriculture and Environment",
        "Sở NN-MT",
        Kind.DEPARTMENT,
    ),
    AgencySeed(
        "so-xay-dung",
        "Sở Xây dựng",
        "Department of Construction",
        "Sở Xây dựng",
        Kind.DEPARTMENT,
        address="Khu liên cơ Vân Hồ, 52 Lê Đại Hành, Hà Nội",
    ),
    AgencySeed(
        "so-khoa-hoc-cong-nghe",
        "Sở Khoa học và Công nghệ",
        "Department of Science and Technology",
        "Sở KH-CN",
        Kind.DEPARTMENT,
    ),
    AgencySeed(
        "so-van-hoa-the-thao",
        "Sở Văn hóa và Thể thao",
        "Department of Culture and Sports",
        "Sở VH-TT",
        Kind.DEPARTMENT,
        website="https://sovhtt.hanoi.gov.vn/",
    ),
    AgencySeed(
        "so-giao-duc-dao-tao",
        "Sở Giáo dục và Đào tạo",
        "Department of Education and Training",
        "Sở GD-ĐT",
        Kind.DEPARTMENT,
    ),
    AgencySeed("so-y-te", "Sở Y tế", "Department of Health", "Sở Y tế", Kind.DEPARTMENT),
    AgencySeed(
        "thanh-tra-thanh-pho",
        "Thanh tra thành phố",
        "City Inspectorate",
        "Thanh tra TP",
        Kind.DEPARTMENT,
    ),
    AgencySeed(
        "van-phong-ubnd-thanh-pho",
        "Văn phòng Ủy ban nhân dân thành phố",
        "Office of the City People's Committee",
        "VP UBND TP",
        Kind.DEPARTMENT,
    ),
    AgencySeed(
        "so-dan-toc-ton-giao",
        "Sở Dân tộc và Tôn giáo",
        "Department of Ethnic and Religious Affairs",
        "Sở DT-TG",
        Kind.DEPARTMENT,
    ),
    AgencySeed("so-du-lich", "Sở Du lịch", "Department of Tourism", "Sở Du lịch", Kind.DEPARTMENT),
    AgencySeed(
        "so-quy-hoach-kien-truc",
        "Sở Quy hoạch - Kiến trúc",
        "Department of Planning and Architecture",
        "Sở QH-KT",
        Kind.DEPARTMENT,
    ),
)

POLICE = AgencySeed(
    code="cong-an-thanh-pho",
    name="Công an thành phố Hà Nội",
    name_en="Hanoi City Police",
    short_name="CATP Hà Nội",
    kind=Kind.POLICE,
    phone="113",
)

# Utilities that residents' reports most often concern. Only EVNHANOI supplies the whole
# city; the water, drainage and sanitation companies each serve part of it, and their areas
# (given in old district terms by the sources) are left for an administrator to assign.
UTILITIES: tuple[AgencySeed, ...] = (
    AgencySeed(
        "evn-hanoi",
        "Tổng công ty Điện lực thành phố Hà Nội",
        "Hanoi Power Corporation (EVNHANOI)",
        "EVNHANOI",
        Kind.UTILITY,
        phone="1900 1288",
    ),
    AgencySeed(
        "nuoc-sach-ha-noi",
        "Công ty TNHH MTV Nước sạch Hà Nội",
        "Hanoi Clean Water Company (Hawacom)",
        "Hawacom",
        Kind.UTILITY,
        serves_whole_city=False,
        website="http://hawacom.vn/",
        address="44 Yên Phụ, Hà Nội",
    ),
    AgencySeed(
        "nuoc-sach-so-2",
        "Công ty Cổ phần Nước sạch số 2 Hà Nội",
        "Hanoi Clean Water JSC No. 2",
        "Nước sạch số 2",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
    AgencySeed(
        "nuoc-sach-so-3",
        "Công ty Cổ phần Nước sạch số 3 Hà Nội",
        "Hanoi Clean Water JSC No. 3",
        "Nước sạch số 3",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
    AgencySeed(
        "viwaco",
        "Công ty Cổ phần Viwaco",
        "Viwaco Clean Water JSC",
        "Viwaco",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
    AgencySeed(
        "nuoc-sach-ha-dong",
        "Công ty TNHH MTV Nước sạch Hà Đông",
        "Ha Dong Clean Water Company (Hadowa)",
        "Hadowa",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
    AgencySeed(
        "thoat-nuoc-ha-noi",
        "Công ty TNHH MTV Thoát nước Hà Nội",
        "Hanoi Sewerage and Drainage Company",
        "Thoát nước Hà Nội",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
    AgencySeed(
        "urenco",
        "Công ty TNHH MTV Môi trường đô thị Hà Nội",
        "Hanoi Urban Environment Company (URENCO)",
        "URENCO",
        Kind.UTILITY,
        serves_whole_city=False,
    ),
)

CITY_AGENCIES: tuple[AgencySeed, ...] = (HUB, *DEPARTMENTS, POLICE, *UTILITIES)

# People's Committee of a ward or commune: code and names are derived from the ward.
WARD_COMMITTEE_CODE_PREFIX = "ubnd-"
WARD_COMMITTEE_NAME_PREFIX = "Ủy ban nhân dân "
WARD_COMMITTEE_SHORT_PREFIX = "UBND "
