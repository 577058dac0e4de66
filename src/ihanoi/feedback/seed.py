"""The categories (lĩnh vực) a city starts with, their questions, the rejection reasons and
the city-wide routing rules. `ihanoi seed-feedback` writes them; administrators edit them in
the admin afterwards (a re-run updates names and adds what is missing, it never deletes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .models import Severity


@dataclass(frozen=True)
class QuestionSeed:
    code: str
    label: str
    label_en: str
    datatype: str
    required: bool = False
    choices: tuple[tuple[str, str, str], ...] = ()  # (key, name, name_en)

    def choices_json(self) -> list[dict[str, Any]]:
        return [{"key": k, "name": n, "name_en": e} for k, n, e in self.choices]


@dataclass(frozen=True)
class CategorySeed:
    code: str
    group: str
    name: str
    name_en: str
    description: str = ""
    severity: str = Severity.NORMAL
    photo_required: bool = False
    evidence_required: bool = True
    is_public: bool = True
    keywords: str = ""
    questions: tuple[QuestionSeed, ...] = field(default=())


GROUPS: tuple[tuple[str, str, str], ...] = (
    ("do-thi", "Đô thị", "Urban management"),
    ("moi-truong", "Môi trường", "Environment"),
    ("xa-hoi", "An ninh, xã hội", "Safety and society"),
    ("hanh-chinh", "Hành chính, góp ý", "Administration and ideas"),
)

_YES_NO = (("co", "Có", "Yes"), ("khong", "Không", "No"))

CATEGORIES: tuple[CategorySeed, ...] = (
    CategorySeed(
        "trat-tu-do-thi",
        "do-thi",
        "Trật tự đô thị",
        "Urban order",
        "Lấn chiếm vỉa hè, lòng đường; quảng cáo sai quy định; họp chợ trái phép.",
        photo_required=True,
        keywords="vỉa hè, lấn chiếm, quảng cáo",
        questions=(
            QuestionSeed(
                "loai",
                "Loại vi phạm",
                "Kind of violation",
                "singlevaluelist",
                True,
                (
                    ("via-he", "Lấn chiếm vỉa hè, lòng đường", "Pavement or roadway occupied"),
                    ("quang-cao", "Quảng cáo sai quy định", "Illegal advertising"),
                    ("cho-coc", "Họp chợ trái phép", "Illegal street market"),
                    ("khac", "Khác", "Other"),
                ),
            ),
        ),
    ),
    CategorySeed(
        "moi-truong-ve-sinh",
        "moi-truong",
        "Môi trường, vệ sinh",
        "Environment and sanitation",
        "Rác thải, nước thải, ô nhiễm không khí, tiếng ồn, vệ sinh công cộng.",
        photo_required=True,
        keywords="rác, nước thải, ô nhiễm, tiếng ồn",
        questions=(
            QuestionSeed(
                "van-de",
                "Vấn đề",
                "Problem",
                "singlevaluelist",
                True,
                (
                    ("rac", "Rác thải, phế thải", "Litter or waste"),
                    ("nuoc-thai", "Nước thải", "Waste water"),
                    ("khong-khi", "Ô nhiễm không khí, mùi", "Air pollution or smell"),
                    ("tieng-on", "Tiếng ồn", "Noise"),
                    ("khac", "Khác", "Other"),
                ),
            ),
        ),
    ),
    CategorySeed(
        "giao-thong",
        "do-thi",
        "Giao thông",
        "Traffic",
        "Hư hỏng mặt đường, đèn tín hiệu, biển báo; ùn tắc; vi phạm giao thông.",
        keywords="ổ gà, đèn tín hiệu, biển báo, ùn tắc",
        questions=(
            QuestionSeed(
                "su-co",
                "Sự cố",
                "Issue",
                "singlevaluelist",
                True,
                (
                    ("mat-duong", "Hư hỏng mặt đường, ổ gà", "Damaged road, pothole"),
                    ("den-tin-hieu", "Đèn tín hiệu", "Traffic light"),
                    ("bien-bao", "Biển báo, vạch sơn", "Signs or road markings"),
                    ("un-tac", "Ùn tắc", "Congestion"),
                    ("khac", "Khác", "Other"),
                ),
            ),
        ),
    ),
    CategorySeed(
        "trat-tu-xay-dung",
        "do-thi",
        "Trật tự xây dựng",
        "Construction order",
        "Xây dựng không phép, sai phép; công trình gây mất an toàn, vật liệu chiếm đường.",
        photo_required=True,
        keywords="xây dựng không phép, sai phép",
        questions=(
            QuestionSeed(
                "dia-chi-cong-trinh",
                "Số nhà hoặc tên công trình",
                "House number or name of the site",
                "string",
            ),
        ),
    ),
    CategorySeed(
        "an-ninh-trat-tu",
        "xa-hoi",
        "An ninh trật tự",
        "Security and order",
        "Mất an ninh trật tự, trộm cắp, tai nạn, nguy cơ mất an toàn.",
        severity=Severity.URGENT,
        is_public=False,
        keywords="trộm cắp, gây rối, tai nạn",
    ),
    CategorySeed(
        "cay-xanh",
        "moi-truong",
        "Cây xanh, công viên",
        "Trees and green space",
        "Cây đổ, cây có nguy cơ gãy đổ, chặt hạ trái phép, công viên xuống cấp.",
        photo_required=True,
        keywords="cây đổ, gãy cành, công viên",
        questions=(
            QuestionSeed(
                "nguy-hiem",
                "Cây có nguy cơ gãy đổ ngay?",
                "Could the tree fall now?",
                "singlevaluelist",
                True,
                _YES_NO,
            ),
        ),
    ),
    CategorySeed(
        "chieu-sang-dien",
        "do-thi",
        "Chiếu sáng, điện",
        "Lighting and electricity",
        "Đèn đường hỏng, mất điện, dây điện, cột điện nguy hiểm.",
        keywords="đèn đường, mất điện, dây điện",
        questions=(
            QuestionSeed(
                "ma-cot", "Số hiệu cột điện (nếu thấy)", "Number on the pole (if seen)", "string"
            ),
        ),
    ),
    CategorySeed(
        "cap-nuoc",
        "moi-truong",
        "Cấp nước",
        "Water supply",
        "Mất nước, nước yếu, nước bẩn, vỡ đường ống.",
        keywords="mất nước, vỡ ống, nước bẩn",
        questions=(
            QuestionSeed(
                "so-ho", "Số hộ bị ảnh hưởng (ước tính)", "Households affected (estimate)", "number"
            ),
        ),
    ),
    CategorySeed(
        "thoat-nuoc-ngap",
        "moi-truong",
        "Thoát nước, ngập úng",
        "Drainage and flooding",
        "Ngập úng, tắc cống, hố ga mất nắp.",
        keywords="ngập, tắc cống, hố ga",
        questions=(
            QuestionSeed("do-sau", "Độ sâu ngập (cm)", "Depth of the water (cm)", "number"),
        ),
    ),
    CategorySeed(
        "an-toan-thuc-pham",
        "xa-hoi",
        "An toàn thực phẩm",
        "Food safety",
        "Cơ sở kinh doanh thực phẩm không bảo đảm vệ sinh, ngộ độc thực phẩm.",
        is_public=False,
        keywords="ngộ độc, thực phẩm bẩn",
        questions=(
            QuestionSeed("co-so", "Tên cơ sở", "Name of the business", "string", True),
            QuestionSeed("ngay", "Ngày phát hiện", "Date noticed", "datetime"),
        ),
    ),
    CategorySeed(
        "thu-tuc-hanh-chinh",
        "hanh-chinh",
        "Thủ tục hành chính",
        "Administrative procedures",
        "Phản ánh về việc giải quyết thủ tục hành chính: chậm, sai, đòi thêm giấy tờ.",
        evidence_required=False,
        is_public=False,
        keywords="hồ sơ, thủ tục, một cửa",
        questions=(
            QuestionSeed("thu-tuc", "Tên thủ tục", "Name of the procedure", "string", True),
            QuestionSeed("ma-ho-so", "Mã hồ sơ (nếu có)", "File number (if any)", "string"),
        ),
    ),
    CategorySeed(
        "lang-phi",
        "hanh-chinh",
        "Hành vi lãng phí",
        "Wasteful behaviour",
        "Lãng phí tài sản công, đất đai, ngân sách; công trình bỏ hoang.",
        evidence_required=False,
        keywords="lãng phí, bỏ hoang",
        questions=(
            QuestionSeed(
                "loai",
                "Loại lãng phí",
                "Kind of waste",
                "multivaluelist",
                True,
                (
                    ("tai-san-cong", "Tài sản công", "Public property"),
                    ("dat-dai", "Đất đai", "Land"),
                    ("ngan-sach", "Ngân sách", "Public money"),
                    ("cong-trinh", "Công trình bỏ hoang", "Abandoned works"),
                ),
            ),
        ),
    ),
    CategorySeed(
        "sang-kien",
        "hanh-chinh",
        "Sáng kiến vì Thủ đô",
        "Initiatives for the capital",
        "Ý tưởng, sáng kiến xây dựng và phát triển Thủ đô.",
        evidence_required=False,
        keywords="sáng kiến, ý tưởng, góp ý",
    ),
    CategorySeed(
        "khac",
        "hanh-chinh",
        "Khác",
        "Other",
        "Các vấn đề khác không thuộc lĩnh vực nào ở trên.",
        evidence_required=False,
    ),
)

# Category-wide routing (category code → agency code); everything else goes to the ward's
# People's Committee. The utilities own their networks city-wide.
CITY_RULES: tuple[tuple[str, str], ...] = (
    ("chieu-sang-dien", "evn-hanoi"),
    ("thoat-nuoc-ngap", "thoat-nuoc-ha-noi"),
)

# (code, Vietnamese, English): complaints and denunciations are handled under the Law on
# Complaints and the Law on Denunciations, not here (DESIGN §2).
REJECTION_REASONS: tuple[tuple[str, str, str], ...] = (
    (
        "khieu-nai-to-cao",
        "Nội dung là khiếu nại, tố cáo: đề nghị gửi theo quy định của Luật Khiếu nại, Luật Tố cáo.",
        "This is a complaint or denunciation: please file it under the "
        "Law on Complaints or the Law on Denunciations.",
    ),
    ("bi-mat", "Nội dung liên quan đến bí mật nhà nước.", "It concerns state secrets."),
    (
        "khong-ro",
        "Nội dung không rõ ràng, không đủ thông tin để xử lý.",
        "It is unclear or lacks the information needed to handle it.",
    ),
    ("trung-lap", "Phản ánh trùng với một phản ánh đã có.", "It repeats an existing report."),
    ("ngoai-dia-ban", "Sự việc không thuộc địa bàn thành phố Hà Nội.", "It is not in Hanoi."),
    (
        "khong-phu-hop",
        "Nội dung không phù hợp (xúc phạm, quảng cáo, thử nghiệm).",
        "Inappropriate content (offensive, advertising, testing).",
    ),
)
