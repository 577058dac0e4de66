"""Words of the generated city: residents' names, what they report, what agencies answer.

Everything is in Vietnamese, the city's language, as residents and officers write it.
Categories of the starting catalogue (``feedback.seed``) have their own wording; any other
category gets a generic one built from its name.
"""

from __future__ import annotations

import datetime as dt
import random
from bisect import bisect_right
from collections.abc import Sequence
from typing import Any

from ihanoi.feedback.models import Question

# --- People -----------------------------------------------------------------------------------

# Family names with their approximate shares in the North (Nguyễn is about a third).
FAMILY_NAMES: tuple[tuple[str, int], ...] = (
    ("Nguyễn", 34), ("Trần", 11), ("Lê", 9), ("Phạm", 8), ("Hoàng", 5), ("Vũ", 5),
    ("Đỗ", 4), ("Bùi", 4), ("Đặng", 3), ("Ngô", 3), ("Phan", 3), ("Dương", 2), ("Đinh", 2),
    ("Trịnh", 2), ("Lương", 1), ("Hà", 1), ("Đào", 1), ("Cao", 1), ("Tạ", 1), ("Lý", 1),
)  # fmt: skip
MIDDLE_NAMES = {
    "m": ("Văn", "Đức", "Minh", "Quang", "Hữu", "Thành", "Anh", "Tuấn", "Xuân", "Mạnh"),
    "f": ("Thị", "Thu", "Ngọc", "Thanh", "Minh", "Phương", "Hồng", "Thùy", "Kim", "Mai"),
}
GIVEN_NAMES = {
    "m": (
        "An", "Bình", "Cường", "Dũng", "Duy", "Giang", "Hải", "Hiếu", "Hùng", "Huy", "Khánh",
        "Kiên", "Long", "Minh", "Nam", "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Tùng",
        "Việt", "Vinh",
    ),
    "f": (
        "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương", "Huyền",
        "Lan", "Liên", "Linh", "Mai", "Ngân", "Ngọc", "Nhung", "Phương", "Quỳnh", "Thảo",
        "Trang", "Vân", "Yến",
    ),
}  # fmt: skip

# Mobile number prefixes (after +84; the rest of the nine digits is free) and the networks'
# rough shares: Viettel, VinaPhone, MobiFone, then the small ones. Only ranges in use:
# every number drawn is valid for ``lib.phone.normalise_vn_phone``.
MOBILE_PREFIXES: tuple[tuple[str, int], ...] = (
    ("86", 6), ("96", 9), ("97", 9), ("98", 9), ("32", 3), ("33", 3), ("34", 3), ("35", 3),
    ("36", 3), ("37", 3), ("38", 3), ("39", 3),
    ("88", 3), ("91", 6), ("94", 5), ("81", 2), ("82", 2), ("83", 2), ("84", 2), ("85", 2),
    ("896", 1), ("897", 1), ("898", 1), ("90", 6), ("93", 4), ("70", 1), ("76", 1),
    ("77", 1), ("78", 1), ("79", 1), ("92", 1), ("56", 1), ("58", 1), ("996", 1),
)  # fmt: skip


def full_name(rng: random.Random, family_cum: Sequence[float]) -> str:
    sex = "m" if rng.random() < 0.5 else "f"
    family = FAMILY_NAMES[_pick(rng, family_cum)][0]
    return f"{family} {rng.choice(MIDDLE_NAMES[sex])} {rng.choice(GIVEN_NAMES[sex])}"


def _pick(rng: random.Random, cum: Sequence[float]) -> int:
    return bisect_right(cum, rng.random() * cum[-1])


# --- Places -----------------------------------------------------------------------------------

STREETS = (
    "phố Huế", "phố Bà Triệu", "phố Hàng Bài", "phố Lý Thường Kiệt", "phố Tràng Thi",
    "phố Đội Cấn", "phố Kim Mã", "phố Giảng Võ", "đường Láng", "đường Giải Phóng",
    "đường Nguyễn Trãi", "đường Trường Chinh", "phố Xã Đàn", "đường Cầu Giấy",
    "đường Hoàng Quốc Việt", "đường Phạm Văn Đồng", "phố Lê Duẩn", "phố Minh Khai",
    "đường Tam Trinh", "đường Nguyễn Văn Cừ", "phố Ngọc Lâm", "đường Lạc Long Quân",
    "đường Âu Cơ", "phố Thụy Khuê", "đường Nguyễn Xiển", "đường Lê Văn Lương",
    "phố Tố Hữu", "đường Quang Trung", "đường Hồ Tùng Mậu", "đường Xuân Thủy",
    "phố Tôn Đức Thắng", "phố Chùa Bộc", "phố Thái Hà", "đường Kim Giang", "đường Ngọc Hồi",
    "quốc lộ 32", "đường 70", "tỉnh lộ 419", "đường liên thôn", "đường làng",
)  # fmt: skip
PLACES = (
    "đầu ngõ", "cuối ngõ", "trước cổng chợ", "gần trường tiểu học", "cạnh trạm biến áp",
    "trước cửa nhà văn hóa", "gần ngã tư", "sát chân cầu vượt", "đối diện trạm y tế",
    "trước khu tập thể", "cạnh bãi đỗ xe", "gần điểm chờ xe buýt",
)  # fmt: skip


def address(rng: random.Random, ward_name: str) -> str:
    street = rng.choice(STREETS)
    roll = rng.random()
    if roll < 0.45:
        spot = f"Số {rng.randint(1, 320)} {street}"
    elif roll < 0.8:
        spot = f"Ngõ {rng.randint(2, 250)} {street}"
    else:
        spot = f"{rng.choice(PLACES).capitalize()}, {street}"
    return f"{spot}, {ward_name}"[:255]


# --- Reports ----------------------------------------------------------------------------------

# code → (titles, descriptions, results)
WORDING: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "trat-tu-do-thi": (
        (
            "Lấn chiếm vỉa hè để kinh doanh",
            "Quán ăn bày bàn ghế ra lòng đường",
            "Quảng cáo dán sai quy định trên cột điện",
            "Họp chợ tạm trên đường",
            "Xe máy đỗ tràn ra vỉa hè",
            "Dựng mái che lấn ra vỉa hè",
        ),
        (
            "Nhiều hộ kinh doanh bày hàng kín vỉa hè, người đi bộ phải xuống lòng đường.",
            "Buổi tối các quán bày bàn ghế ra tận lòng đường, gây ùn tắc và mất an toàn.",
            "Tờ rơi quảng cáo dán chi chít trên cột điện và tường nhà, rất mất mỹ quan.",
            "Người bán hàng rong tụ tập họp chợ từ sáng sớm, rác thải để lại bừa bãi.",
        ),
        (
            "Đã kiểm tra, nhắc nhở các hộ kinh doanh thu dọn hàng hóa, trả lại vỉa hè.",
            "Tổ trật tự đô thị đã xử lý vi phạm, lập biên bản và tháo dỡ mái che.",
            "Đã bóc xóa quảng cáo sai quy định và tăng cường kiểm tra khu vực.",
        ),
    ),
    "moi-truong-ve-sinh": (
        (
            "Rác thải tập kết sai nơi quy định",
            "Phế thải xây dựng đổ trộm",
            "Mùi hôi thối từ điểm tập kết rác",
            "Đốt rác gây khói bụi",
            "Tiếng ồn karaoke ban đêm",
            "Rác tồn đọng nhiều ngày chưa thu gom",
        ),
        (
            "Rác thải sinh hoạt để thành đống lớn, bốc mùi hôi thối, ruồi muỗi nhiều.",
            "Có người đổ trộm phế thải xây dựng ra ven đường vào ban đêm.",
            "Khói đốt rác bay vào khu dân cư, người già và trẻ nhỏ bị ảnh hưởng.",
            "Hát karaoke đến quá 23 giờ, ảnh hưởng giấc ngủ của người dân xung quanh.",
        ),
        (
            "Đã chỉ đạo đơn vị vệ sinh môi trường thu gom toàn bộ rác thải, phun khử mùi.",
            "Đã thu dọn phế thải, lắp camera giám sát và biển cấm đổ rác.",
            "Đã kiểm tra, nhắc nhở và xử phạt hộ gia đình gây tiếng ồn.",
        ),
    ),
    "giao-thong": (
        (
            "Ổ gà lớn trên mặt đường",
            "Đèn tín hiệu giao thông không hoạt động",
            "Biển báo bị che khuất",
            "Nắp hố ga bị vỡ giữa đường",
            "Ùn tắc kéo dài giờ cao điểm",
            "Vạch sơn đường mờ, khó nhìn",
        ),
        (
            "Mặt đường xuất hiện nhiều ổ gà sâu, xe máy đi qua rất dễ ngã, nhất là khi trời mưa.",
            "Đèn tín hiệu tại nút giao bị tắt từ sáng, các phương tiện đi lộn xộn.",
            "Nắp hố ga bị vỡ, để lại hố sâu giữa lòng đường rất nguy hiểm.",
            "Giờ tan tầm xe cộ ùn tắc kéo dài, đề nghị bố trí người phân luồng.",
        ),
        (
            "Đã vá sửa ổ gà, hoàn trả mặt đường.",
            "Đã sửa chữa đèn tín hiệu, nút giao hoạt động bình thường.",
            "Đã thay nắp hố ga mới và cắm biển cảnh báo trong thời gian thi công.",
        ),
    ),
    "trat-tu-xay-dung": (
        (
            "Công trình xây dựng không che chắn",
            "Xây dựng không phép",
            "Vật liệu xây dựng để trên vỉa hè",
            "Công trình thi công quá giờ quy định",
        ),
        (
            "Công trình đang thi công không có lưới che chắn, vật liệu rơi xuống đường.",
            "Hộ gia đình đang xây thêm tầng, nghi không có giấy phép xây dựng.",
            "Cát, đá, gạch để tràn ra vỉa hè và lòng đường nhiều ngày.",
            "Công trình đổ bê tông vào ban đêm, tiếng ồn lớn kéo dài.",
        ),
        (
            "Đã kiểm tra, lập biên bản vi phạm và yêu cầu chủ đầu tư che chắn công trình.",
            "Đã đình chỉ thi công, yêu cầu chủ nhà xuất trình giấy phép xây dựng.",
            "Đã yêu cầu thu dọn vật liệu, trả lại hành lang cho người đi bộ.",
        ),
    ),
    "an-ninh-trat-tu": (
        (
            "Tụ tập gây mất trật tự ban đêm",
            "Nghi có trộm cắp xe máy",
            "Đua xe trái phép",
            "Xô xát trước quán nhậu",
        ),
        (
            "Nhóm thanh niên tụ tập, nẹt pô, gây ồn ào đến khuya.",
            "Trong tuần có hai xe máy bị mất trộm trong ngõ, người dân rất lo lắng.",
            "Nhiều xe máy đua tốc độ cao trên tuyến đường vào ban đêm.",
        ),
        (
            "Công an phường đã tăng cường tuần tra, giải tán nhóm tụ tập.",
            "Đã tiếp nhận, xác minh và phối hợp điều tra vụ việc.",
        ),
    ),
    "cay-xanh": (
        (
            "Cây xanh có nguy cơ gãy đổ",
            "Cành cây gãy chắn đường",
            "Cây đổ sau mưa bão",
            "Cây che khuất đèn chiếu sáng",
        ),
        (
            "Cây xanh lớn bị mục gốc, nghiêng ra phía đường, có nguy cơ đổ vào người đi đường.",
            "Sau trận mưa lớn cành cây gãy nằm chắn ngang đường.",
            "Tán cây rậm rạp che kín đèn đường, buổi tối rất tối.",
        ),
        ("Đã cắt tỉa, hạ cành cây có nguy cơ gãy đổ.", "Đã dọn cây đổ, thông tuyến đường."),
    ),
    "chieu-sang-dien": (
        (
            "Đèn đường không sáng",
            "Dây điện chằng chịt, võng thấp",
            "Cột điện nghiêng",
            "Mất điện kéo dài",
        ),
        (
            "Cả dãy đèn chiếu sáng trong ngõ không sáng nhiều đêm liền.",
            "Dây điện, dây viễn thông võng thấp sát đầu người đi đường.",
            "Cột điện bị nghiêng sau khi xe tải va phải.",
        ),
        (
            "Đã thay bóng đèn và sửa chữa tủ điện chiếu sáng.",
            "Đã bó gọn, nâng độ cao dây điện và dây viễn thông.",
        ),
    ),
    "cap-nuoc": (
        (
            "Mất nước sinh hoạt",
            "Vỡ đường ống nước",
            "Nước sinh hoạt có mùi lạ",
            "Nước yếu giờ cao điểm",
        ),
        (
            "Khu dân cư bị mất nước từ hai ngày nay mà không có thông báo.",
            "Đường ống nước bị vỡ, nước chảy lênh láng ra đường.",
            "Nước máy có mùi clo nặng và màu vàng đục.",
        ),
        (
            "Đã sửa chữa đường ống, cấp nước trở lại bình thường.",
            "Đã súc xả đường ống và lấy mẫu nước kiểm tra.",
        ),
    ),
    "thoat-nuoc-ngap": (
        ("Ngập úng sau mưa", "Cống thoát nước bị tắc", "Mất nắp cống", "Nước thải tràn ra đường"),
        (
            "Mỗi trận mưa to tuyến đường ngập sâu, xe chết máy hàng loạt.",
            "Cống thoát nước bị rác lấp kín, nước không thoát được.",
            "Nắp cống bị mất, để lại miệng cống hở rất nguy hiểm.",
        ),
        ("Đã nạo vét cống, khơi thông dòng chảy.", "Đã lắp nắp cống mới và kiểm tra toàn tuyến."),
    ),
    "an-toan-thuc-pham": (
        (
            "Cơ sở kinh doanh thực phẩm mất vệ sinh",
            "Bán thực phẩm không rõ nguồn gốc",
            "Nghi ngộ độc sau khi ăn tại quán",
        ),
        (
            "Quán ăn chế biến thực phẩm ngay trên nền đất, không đảm bảo vệ sinh.",
            "Có người bán thịt, rau không rõ nguồn gốc tại chợ tạm.",
            "Cả gia đình bị đau bụng sau khi ăn tại một quán gần nhà.",
        ),
        ("Đoàn kiểm tra liên ngành đã kiểm tra, xử phạt cơ sở vi phạm.",),
    ),
    "thu-tuc-hanh-chinh": (
        (
            "Hồ sơ giải quyết chậm so với giấy hẹn",
            "Yêu cầu bổ sung giấy tờ không đúng quy định",
            "Cổng dịch vụ công báo lỗi khi nộp hồ sơ",
        ),
        (
            "Hồ sơ nộp đã quá ngày hẹn trả kết quả nhưng chưa được giải quyết.",
            "Cán bộ yêu cầu nộp thêm giấy tờ không có trong danh mục thủ tục.",
            "Nộp hồ sơ trực tuyến nhiều lần đều báo lỗi hệ thống.",
        ),
        (
            "Đã rà soát, trả kết quả hồ sơ và xin lỗi công dân vì sự chậm trễ.",
            "Đã hướng dẫn lại thành phần hồ sơ đúng quy định.",
        ),
    ),
    "lang-phi": (
        (
            "Công trình công bỏ hoang nhiều năm",
            "Đèn chiếu sáng bật cả ban ngày",
            "Trụ sở cũ để không, xuống cấp",
        ),
        (
            "Nhà văn hóa xây xong nhiều năm nhưng không sử dụng, nay đã xuống cấp.",
            "Hệ thống đèn chiếu sáng công cộng bật suốt cả ngày.",
        ),
        (
            "Đã kiểm tra, báo cáo cấp có thẩm quyền phương án sử dụng công trình.",
            "Đã điều chỉnh lại chế độ bật tắt đèn chiếu sáng.",
        ),
    ),
    "sang-kien": (
        (
            "Đề xuất bố trí thêm thùng rác công cộng",
            "Đề xuất kẻ vạch sang đường trước trường học",
            "Đề xuất cải tạo vườn hoa thành sân chơi cho trẻ em",
        ),
        (
            "Khu vực đông người qua lại nhưng không có thùng rác, đề nghị bố trí thêm.",
            "Học sinh sang đường rất nguy hiểm, đề nghị kẻ vạch và đặt biển báo.",
        ),
        ("Cảm ơn ý kiến đóng góp; đơn vị đã tiếp thu và đưa vào kế hoạch thực hiện.",),
    ),
}
GENERIC_DESCRIPTIONS = ("Đề nghị cơ quan chức năng kiểm tra, xử lý.",)
GENERIC_RESULTS = (
    "Đã kiểm tra thực tế và xử lý theo quy định.",
    "Đã phối hợp với các đơn vị liên quan giải quyết dứt điểm.",
)
TAILS = (
    "", "", "Tình trạng này kéo dài nhiều ngày.", "Đề nghị cơ quan chức năng sớm xử lý.",
    "Người dân đã phản ánh nhiều lần nhưng chưa được giải quyết.", "Rất mong được quan tâm.",
)  # fmt: skip
RESULT_TAILS = ("", " Đơn vị sẽ tiếp tục theo dõi, kiểm tra.", " Trân trọng cảm ơn công dân.")


def report_text(rng: random.Random, code: str, category_name: str) -> tuple[str, str]:
    """A title and a description of one report."""
    wording = WORDING.get(code)
    if wording is None:
        title = f"Phản ánh về {category_name.lower()}"[:150]
        return title, f"{title}. {rng.choice(GENERIC_DESCRIPTIONS)}"
    titles, descriptions, _results = wording
    tail = rng.choice(TAILS)
    description = rng.choice(descriptions)
    return rng.choice(titles), f"{description} {tail}".strip()


def result_text(rng: random.Random, code: str) -> str:
    wording = WORDING.get(code)
    results = wording[2] if wording is not None else GENERIC_RESULTS
    return rng.choice(results) + rng.choice(RESULT_TAILS)


# --- The timeline -----------------------------------------------------------------------------

TRANSFER_NOTES = (
    "Nội dung phản ánh thuộc thẩm quyền giải quyết của đơn vị khác, đề nghị chuyển xử lý.",
    "Địa điểm phản ánh không thuộc địa bàn quản lý, chuyển đơn vị có thẩm quyền.",
    "Chuyển đơn vị chuyên ngành xử lý theo chức năng, nhiệm vụ.",
)
RETURN_NOTES = (
    "Nội dung không thuộc thẩm quyền của đơn vị, đề nghị Trung tâm phân loại lại.",
    "Phản ánh thiếu thông tin vị trí, đơn vị không xác định được địa điểm.",
    "Nội dung mang tính khiếu nại, không thuộc phạm vi tiếp nhận của hệ thống.",
)
REJECT_NOTES = ("", "", "Đề nghị công dân gửi đơn theo quy định của Luật Khiếu nại.")
INFO_QUESTIONS = (
    "Đề nghị công dân cung cấp thêm địa chỉ cụ thể.",
    "Đề nghị bổ sung hình ảnh rõ hơn về vị trí phản ánh.",
    "Đề nghị cho biết thời gian thường xảy ra sự việc.",
)
INFO_ANSWERS = (
    "Vị trí ở ngay cạnh số nhà 15, phía bên trái ngõ.",
    "Sự việc thường xảy ra vào buổi tối, khoảng 20 giờ.",
    "Tôi đã bổ sung thêm ảnh chụp vị trí.",
)
EXTENSION_REASONS = (
    "Cần phối hợp với nhiều đơn vị liên quan để xác minh.",
    "Chờ vật tư thay thế, đề nghị gia hạn thời gian xử lý.",
    "Thời tiết mưa kéo dài, chưa thể thi công.",
)
REOPEN_NOTES = (
    "Kết quả xử lý chưa triệt để, đề nghị đơn vị kiểm tra lại.",
    "Người dân phản hồi tình trạng tái diễn, yêu cầu xử lý lại.",
)
REVIEW_CLOSE_NOTES = (
    "Đơn vị đã xử lý đúng quy định; đã giải thích cho công dân.",
    "Kết quả xử lý phù hợp, đóng xem xét.",
)
STAFF_COMMENTS = (
    "Đề nghị đơn vị báo cáo tiến độ xử lý.",
    "Đã liên hệ với tổ dân phố để nắm thông tin.",
    "Vụ việc đã được đưa vào giao ban tuần.",
)
RATING_COMMENTS = {
    "satisfied": ("Cảm ơn các cán bộ đã xử lý nhanh chóng.", "Xử lý rất tốt.", "Cảm ơn!"),
    "acceptable": ("Đã xử lý nhưng hơi chậm.", "Tạm ổn, mong duy trì thường xuyên."),
    "not_satisfied": (
        "Chưa xử lý triệt để, sự việc vẫn tái diễn.",
        "Kết quả không đúng thực tế.",
        "Xử lý quá chậm.",
    ),
}

# --- Answers to a category's questions -----------------------------------------------------

STRING_ANSWERS: dict[str, tuple[str, ...]] = {
    "co-so": ("Quán bún chả Hương Liên", "Cửa hàng tạp hóa Minh Anh", "Quán cơm bình dân 36",
              "Bếp ăn tập thể công ty X", "Quán trà sữa cổng trường"),
    "thu-tuc": ("Cấp giấy phép xây dựng nhà ở riêng lẻ", "Đăng ký hộ kinh doanh",
                "Cấp đổi giấy chứng nhận quyền sử dụng đất", "Chứng thực bản sao",
                "Đăng ký khai sinh"),
    "dia-chi-cong-trinh": ("Số 12 ngõ 45", "Lô đất cuối ngõ", "Cạnh nhà văn hóa tổ 7"),
    "ma-cot": ("CS-12/04", "HK-3/118", "TT-45", "B7-22"),
    "ma-ho-so": ("000.00.25.H26-250312-0041", "000.21.30.H26-250801-0007",
                 "000.03.12.H26-260115-0102"),
}  # fmt: skip


def answers(rng: random.Random, questions: list[Question], day: dt.date) -> dict[str, Any]:
    """Answers as ``questions.clean_answers`` stores them: required questions always, the
    others now and then."""
    found: dict[str, Any] = {}
    for question in questions:
        if not question.required and rng.random() < 0.6:
            continue
        kind = question.datatype
        keys = [choice["key"] for choice in question.choices]
        if kind == Question.Datatype.SINGLE and keys:
            # The first choices are the common ones.
            found[question.code] = keys[min(int(rng.expovariate(0.8)), len(keys) - 1)]
        elif kind == Question.Datatype.MULTI and keys:
            found[question.code] = sorted(set(rng.sample(keys, rng.randint(1, min(2, len(keys))))))
        elif kind == Question.Datatype.NUMBER:
            high = 80 if question.code == "do-sau" else 300
            found[question.code] = float(rng.randint(5 if high == 80 else 1, high))
        elif kind == Question.Datatype.DATETIME:
            found[question.code] = (day - dt.timedelta(days=rng.randint(0, 7))).isoformat()
        elif kind == Question.Datatype.STRING:
            pool = STRING_ANSWERS.get(question.code)
            found[question.code] = rng.choice(pool) if pool else question.label[:255]
        elif kind == Question.Datatype.TEXT:
            found[question.code] = rng.choice(TAILS[2:])
    return found
