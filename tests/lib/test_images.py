"""Photo intake: metadata gone, upright, bounded; every bad upload refused with its code.

All images are generated here; crafted headers stand in for the hostile ones.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import random
import struct
import time
import warnings
import zlib
from collections.abc import Callable

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image, ImageCms, ImageOps, PngImagePlugin, features

from ihanoi.lib.images import (
    EncodedImage,
    InvalidImage,
    MiB,
    ProcessedPhoto,
    process_photo,
)

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
YELLOW = (255, 255, 0)
WHITE = (255, 255, 255)

GPS = ExifTags.IFD.GPSInfo
SECRET = b"Nguyen Van A, 0912345678"  # what a resident must not leak through the photo


# --- building inputs --------------------------------------------------------------------


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def heic(image: Image.Image, **params: object) -> bytes:
    try:
        return encode(image, "HEIF", **params)
    except (KeyError, OSError, RuntimeError, ValueError) as exc:
        pytest.skip(f"pillow_heif cannot encode HEIC on this machine (no HEVC encoder): {exc}")


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Cheap Phone 3"
    exif[ExifTags.Base.Artist] = SECRET.decode()
    exif[ExifTags.Base.DateTime] = "2025:07:01 08:30:00"
    gps = exif.get_ifd(GPS)
    # Hoàn Kiếm Lake: the resident's position when the photo was taken.
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (21.0, 1.0, 43.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (105.0, 51.0, 10.0)
    return exif


def quadrants(width: int = 64, height: int = 32) -> Image.Image:
    """Four colours, so that any rotation or flip shows."""
    image = Image.new("RGB", (width, height), RED)
    image.paste(GREEN, (width // 2, 0, width, height // 2))
    image.paste(BLUE, (0, height // 2, width // 2, height))
    image.paste(YELLOW, (width // 2, height // 2, width, height))
    return image


def photo_like(width: int, height: int) -> Image.Image:
    return Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ],
    )


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_header_claiming(width: int, height: int) -> bytes:
    """A valid PNG signature and header for a huge image, followed by almost no data."""
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
        + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b"")
    )


def jpeg_header_claiming(width: int, height: int) -> bytes:
    start_of_frame = b"\xff\xc0" + struct.pack(">HBHHB", 17, 8, height, width, 3)
    start_of_frame += b"\x01\x22\x00\x02\x11\x01\x03\x11\x01"
    start_of_scan = (
        b"\xff\xda" + struct.pack(">HB", 12, 3) + b"\x01\x00\x02\x11\x03\x11\x00\x3f\x00"
    )
    return b"\xff\xd8" + start_of_frame + start_of_scan + b"\x00" * 64 + b"\xff\xd9"


def icc_profile_swapping_red_and_green() -> bytes:
    """An ICC v2 RGB profile whose red primary is sRGB's green and vice versa.

    Pixels tagged with it that read (255, 0, 0) are green: only an applied profile gets that.
    """

    def s15f16(*values: float) -> bytes:
        return b"".join(struct.pack(">i", round(v * 65536)) for v in values)

    def xyz(*values: float) -> bytes:
        return b"XYZ \x00\x00\x00\x00" + s15f16(*values)

    description = b"Swapped red and green\x00"
    tags = {
        b"desc": b"desc\x00\x00\x00\x00"
        + struct.pack(">I", len(description))
        + description
        + b"\x00" * (4 + 4 + 2 + 1 + 67),
        b"cprt": b"text\x00\x00\x00\x00No copyright\x00",
        b"wtpt": xyz(0.9642, 1.0, 0.8249),
        # sRGB's colorants adapted to D50, red and green exchanged.
        b"rXYZ": xyz(0.3851, 0.7169, 0.0971),
        b"gXYZ": xyz(0.4361, 0.2225, 0.0139),
        b"bXYZ": xyz(0.1431, 0.0606, 0.7141),
        b"rTRC": b"curv\x00\x00\x00\x00" + struct.pack(">IH", 1, 0x0233) + b"\x00\x00",
    }
    tags[b"gTRC"] = tags[b"bTRC"] = tags[b"rTRC"]
    table_size = 4 + 12 * len(tags)
    offset = 128 + table_size
    table = struct.pack(">I", len(tags))
    data = b""
    for signature, payload in tags.items():
        payload += b"\x00" * (-len(payload) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(payload))
        data += payload
    size = 128 + table_size + len(data)
    header = (
        struct.pack(">I", size)
        + b"\x00" * 4
        + struct.pack(">I", 0x02100000)
        + b"mntrRGB XYZ "
        + struct.pack(">6H", 2025, 1, 1, 0, 0, 0)
        + b"acsp"
        + b"\x00" * 24
        + struct.pack(">I", 0)
        + s15f16(0.9642, 1.0, 0.8249)
        + b"\x00" * 48
    )
    assert len(header) == 128
    return header + table + data


class CountingStream:
    """An endless upload that records how much was read from it."""

    def __init__(self, byte: bytes = b"\xff") -> None:
        self.byte = byte
        self.bytes_read = 0

    def read(self, size: int = -1, /) -> bytes:
        assert size >= 0, "reading an endless stream to its end"
        self.bytes_read += size
        return self.byte * size


# --- checking outputs -------------------------------------------------------------------


def decoded(encoded: EncodedImage) -> Image.Image:
    image = Image.open(io.BytesIO(encoded.data))
    assert image.format == "JPEG"
    assert encoded.content_type == "image/jpeg"
    assert image.size == (encoded.width, encoded.height)
    image.load()
    return image


def assert_close(actual: object, expected: object, tolerance: int = 40) -> None:
    assert isinstance(actual, tuple)
    assert isinstance(expected, tuple)
    assert len(actual) == len(expected)
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True)), (
        f"{actual} is not close to {expected}"
    )


def assert_pixels_only(result: ProcessedPhoto) -> None:
    for encoded in (result.full, result.thumbnail):
        image = decoded(encoded)
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop", "adobe"} & set(image.info)
        for marker in (b"Exif\x00\x00", b"http://ns.adobe.com/xap", SECRET, b"PhoneMaker"):
            assert marker not in encoded.data


def refused(data: bytes | CountingStream, **limits: int) -> InvalidImage:
    with pytest.raises(InvalidImage) as caught:
        process_photo(data, **limits)
    return caught.value


# --- metadata ---------------------------------------------------------------------------


def jpeg_with_everything() -> bytes:
    return encode(
        quadrants(),
        "JPEG",
        exif=exif_with_gps(),
        xmp=b"<x:xmpmeta><rdf:Description>" + SECRET + b"</rdf:Description></x:xmpmeta>",
        comment=SECRET,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )


def png_with_everything() -> bytes:
    text = PngImagePlugin.PngInfo()
    text.add_text("Author", SECRET.decode())
    text.add_itxt("XML:com.adobe.xmp", "<x:xmpmeta>" + SECRET.decode() + "</x:xmpmeta>")
    return encode(quadrants(), "PNG", exif=exif_with_gps(), pnginfo=text)


def webp_with_everything() -> bytes:
    return encode(
        quadrants(), "WEBP", exif=exif_with_gps(), xmp=b"<x:xmpmeta>" + SECRET + b"</x:xmpmeta>"
    )


def heic_with_everything() -> bytes:
    return heic(quadrants(), exif=exif_with_gps().tobytes(), quality=90)


@pytest.mark.parametrize(
    ("make", "original_format"),
    [
        (jpeg_with_everything, "JPEG"),
        (png_with_everything, "PNG"),
        (webp_with_everything, "WEBP"),
        (heic_with_everything, "HEIF"),
    ],
)
def test_location_and_every_other_metadata_are_gone_from_the_output(
    make: Callable[[], bytes], original_format: str
) -> None:
    data = make()
    uploaded = Image.open(io.BytesIO(data))
    assert uploaded.getexif().get_ifd(GPS)[ExifTags.GPS.GPSLatitudeRef] == "N"
    assert SECRET in data

    result = process_photo(data)

    assert result.original_format == original_format
    assert_pixels_only(result)
    assert (result.full.width, result.full.height) == (64, 32)


def test_sha256_is_the_digest_of_the_full_image_and_stable() -> None:
    data = jpeg_with_everything()
    first, second = process_photo(data), process_photo(data)
    assert first.sha256 == hashlib.sha256(first.full.data).hexdigest()
    assert first.sha256 == second.sha256


# --- orientation ------------------------------------------------------------------------


def test_a_2x1_photo_with_orientation_6_comes_out_1x2() -> None:
    data = encode(Image.new("RGB", (2, 1), RED), "JPEG", exif=exif_with_gps(orientation=6))
    result = process_photo(data)
    assert (result.full.width, result.full.height) == (1, 2)
    assert (result.thumbnail.width, result.thumbnail.height) == (1, 2)


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_every_exif_orientation_is_applied_to_the_pixels(
    image_format: str, orientation: int
) -> None:
    original = quadrants()
    data = encode(original, image_format, exif=exif_with_gps(orientation), quality=95)
    # Pillow's own exif_transpose is the reference for what each orientation means.
    expected = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")

    result = process_photo(data)

    upright = decoded(result.full)
    assert upright.size == expected.size
    width, height = upright.size
    for x in (width // 4, 3 * width // 4):
        for y in (height // 4, 3 * height // 4):
            assert_close(upright.getpixel((x, y)), expected.getpixel((x, y)))


def test_an_iphone_style_heic_keeps_its_rotation() -> None:
    data = heic(quadrants(), exif=exif_with_gps(orientation=6).tobytes(), quality=95)
    result = process_photo(data)
    upright = decoded(result.full)
    assert upright.size == (32, 64)
    # Turned a quarter clockwise: the left half (red over blue) is now the top half.
    assert_close(upright.getpixel((24, 8)), RED)
    assert_close(upright.getpixel((8, 8)), BLUE)
    assert_close(upright.getpixel((24, 56)), GREEN)


def test_a_png_with_its_exif_after_the_pixel_data_is_still_turned() -> None:
    data = encode(Image.new("RGB", (40, 20), RED), "PNG")
    exif = exif_with_gps(orientation=6).tobytes().removeprefix(b"Exif\x00\x00")
    end = data.rindex(b"IEND") - 4
    data = data[:end] + png_chunk(b"eXIf", exif) + data[end:]
    assert data.index(b"eXIf") > data.index(b"IDAT")
    result = process_photo(data)
    assert (result.full.width, result.full.height) == (20, 40)
    assert_pixels_only(result)


def test_a_portrait_phone_photo_is_upright_and_bounded() -> None:
    data = encode(photo_like(1600, 1200), "JPEG", exif=exif_with_gps(orientation=6))
    result = process_photo(data, max_side=800, thumb_side=100)
    assert (result.full.width, result.full.height) == (600, 800)
    assert (result.thumbnail.width, result.thumbnail.height) == (75, 100)


# --- size -------------------------------------------------------------------------------


def test_a_large_photo_is_downscaled_to_max_side_with_its_aspect_kept() -> None:
    result = process_photo(encode(photo_like(3000, 1000), "JPEG"))
    assert (result.full.width, result.full.height) == (2048, 683)
    assert (result.thumbnail.width, result.thumbnail.height) == (320, 107)
    assert decoded(result.thumbnail).mode == "RGB"


@pytest.mark.parametrize("thumb_side", [50, 100, 320])
def test_the_thumbnail_fits_in_thumb_side(thumb_side: int) -> None:
    result = process_photo(encode(photo_like(900, 500), "PNG"), thumb_side=thumb_side)
    assert max(result.thumbnail.width, result.thumbnail.height) == thumb_side
    assert len(result.thumbnail.data) < len(result.full.data)


def test_a_small_photo_is_not_enlarged() -> None:
    result = process_photo(encode(photo_like(300, 200), "JPEG"))
    assert (result.full.width, result.full.height) == (300, 200)
    assert (result.thumbnail.width, result.thumbnail.height) == (300, 200)


def test_a_photo_of_exactly_max_bytes_is_accepted() -> None:
    data = encode(quadrants(), "JPEG")
    assert process_photo(data, max_bytes=len(data)).original_format == "JPEG"
    assert refused(data, max_bytes=len(data) - 1).code == "too_large"


# --- colour and pixel modes -------------------------------------------------------------


def test_a_transparent_png_is_flattened_onto_white() -> None:
    image = Image.new("RGBA", (40, 20), (0, 0, 0, 0))
    image.paste((255, 0, 0, 255), (0, 0, 20, 20))
    out = decoded(process_photo(encode(image, "PNG")).full)
    assert out.mode == "RGB"
    assert_close(out.getpixel((5, 10)), RED)
    assert_close(out.getpixel((35, 10)), WHITE)


def test_transparency_survives_the_downscale_and_then_becomes_white() -> None:
    image = Image.new("RGBA", (400, 200), (0, 0, 0, 0))
    image.paste((0, 0, 255, 255), (0, 0, 200, 200))
    out = decoded(process_photo(encode(image, "PNG"), max_side=100).full)
    assert out.size == (100, 50)
    assert_close(out.getpixel((10, 25)), BLUE)
    assert_close(out.getpixel((90, 25)), WHITE)


def test_a_palette_png_with_a_transparent_colour_gets_a_white_background() -> None:
    image = Image.new("P", (20, 20), 0)
    image.putpalette([0, 0, 0, 0, 128, 0] + [0] * 762)
    image.paste(1, (0, 0, 10, 20))
    out = decoded(process_photo(encode(image, "PNG", transparency=0)).full)
    assert_close(out.getpixel((3, 10)), (0, 128, 0))
    assert_close(out.getpixel((16, 10)), WHITE)


@pytest.mark.parametrize(
    ("image", "image_format", "expected"),
    [
        (Image.new("L", (16, 16), 100), "JPEG", (100, 100, 100)),
        (Image.new("LA", (16, 16), (100, 0)), "PNG", WHITE),
        (Image.new("1", (16, 16), 1), "PNG", WHITE),
        (Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG", RED),
        # 16-bit greyscale: half of 65535 is mid-grey, not clipped to white.
        (Image.new("I;16", (16, 16), 32768), "PNG", (128, 128, 128)),
    ],
    ids=["grey-jpeg", "grey-alpha-png", "bilevel-png", "cmyk-jpeg", "16-bit-grey-png"],
)
def test_every_pixel_mode_becomes_rgb_with_its_colours(
    image: Image.Image, image_format: str, expected: tuple[int, int, int]
) -> None:
    out = decoded(process_photo(encode(image, image_format)).full)
    assert out.mode == "RGB"
    assert_close(out.getpixel((8, 8)), expected, tolerance=8)


def test_an_embedded_colour_profile_is_applied_then_dropped() -> None:
    data = encode(
        Image.new("RGB", (16, 16), RED), "PNG", icc_profile=icc_profile_swapping_red_and_green()
    )
    out = decoded(process_photo(data).full)
    assert "icc_profile" not in out.info
    assert_close(out.getpixel((8, 8)), GREEN)


@pytest.mark.parametrize(
    "icc_profile",
    [
        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
        b"not a colour profile",
    ],
    ids=["srgb", "broken"],
)
def test_an_srgb_or_broken_profile_leaves_the_colours_alone(icc_profile: bytes) -> None:
    data = encode(Image.new("RGB", (16, 16), (200, 40, 90)), "PNG", icc_profile=icc_profile)
    out = decoded(process_photo(data).full)
    assert "icc_profile" not in out.info
    assert_close(out.getpixel((8, 8)), (200, 40, 90), tolerance=6)


def test_a_multi_picture_jpeg_gives_its_first_picture() -> None:
    first, second = Image.new("RGB", (32, 32), RED), Image.new("RGB", (32, 32), BLUE)
    data = encode(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(data)).format == "MPO"
    result = process_photo(data)
    assert result.original_format == "JPEG"
    assert_close(decoded(result.full).getpixel((16, 16)), RED)


# --- inputs: bytes and streams ----------------------------------------------------------


def test_a_django_upload_and_a_bytes_io_are_read_like_bytes() -> None:
    data = encode(quadrants(), "WEBP")
    expected = process_photo(data).sha256
    upload = SimpleUploadedFile("IMG_0001.webp", data, content_type="image/webp")
    assert process_photo(upload).sha256 == expected
    assert process_photo(io.BytesIO(data)).sha256 == expected


def test_an_endless_stream_is_refused_after_max_bytes_plus_one() -> None:
    stream = CountingStream()
    error = refused(stream, max_bytes=10_000)
    assert error.code == "too_large"
    assert stream.bytes_read == 10_001


def test_the_default_limit_is_15_mb_and_says_so() -> None:
    stream = CountingStream()
    error = refused(stream)
    assert stream.bytes_read == 15 * MiB + 1
    assert str(error) == "The photo is too large: at most 15 MB is accepted."


def test_a_text_mode_stream_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        process_photo(io.StringIO("hello"))  # type: ignore[arg-type]


def test_nonsense_limits_are_a_programming_error() -> None:
    with pytest.raises(ValueError, match="limits"):
        process_photo(encode(quadrants(), "PNG"), max_side=0)


# --- refused uploads --------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", io.BytesIO(b"")], ids=["bytes", "stream"])
def test_an_empty_file_is_refused(data: bytes | io.BytesIO) -> None:
    with pytest.raises(InvalidImage) as caught:
        process_photo(data)
    assert caught.value.code == "empty"
    assert str(caught.value) == "The photo file is empty."


NOT_IMAGES = {
    "pdf": b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
    "html": b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
    "text-renamed-jpg": b"Xin chao, day khong phai la anh.\n",
    "random-bytes": random.Random(1207).randbytes(4096),
    "svg": b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>',
    "mp4": b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64,
    "bm-text": b"BMW i3, Hoan Kiem, parked on the pavement",
}


@pytest.mark.parametrize("data", NOT_IMAGES.values(), ids=NOT_IMAGES.keys())
def test_a_file_that_is_not_an_image_is_refused(data: bytes) -> None:
    error = refused(data)
    assert error.code == "not_image"
    assert str(error) == "This file is not a photo. Send a JPEG, PNG, WebP or HEIC image."


def still_gif() -> bytes:
    return encode(quadrants().convert("P"), "GIF")


def animated_gif() -> bytes:
    frames = [Image.new("P", (16, 16), index) for index in range(3)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:])


def avif() -> bytes:
    if not features.check("avif"):
        pytest.skip("this Pillow cannot write AVIF")
    return encode(quadrants(), "AVIF")


def jpeg_2000() -> bytes:
    if not features.check("jpg_2000"):
        pytest.skip("this Pillow cannot write JPEG 2000")
    return encode(quadrants(), "JPEG2000")


@pytest.mark.parametrize(
    ("make", "name"),
    [
        (still_gif, "GIF"),
        (animated_gif, "GIF"),
        (lambda: encode(quadrants(), "BMP"), "BMP"),
        (lambda: encode(quadrants(), "TIFF", exif=exif_with_gps()), "TIFF"),
        (avif, "AVIF"),
        (jpeg_2000, "JPEG 2000"),
        (lambda: b"8BPS\x00\x01" + b"\x00" * 64, "PSD"),
    ],
    ids=["gif", "animated-gif", "bmp", "tiff", "avif", "jpeg-2000", "psd"],
)
def test_image_formats_that_are_not_phone_photos_are_refused_by_name(
    make: Callable[[], bytes], name: str
) -> None:
    error = refused(make())
    assert error.code == "unsupported_format"
    assert str(error) == (f"{name} images are not accepted. Send a JPEG, PNG, WebP or HEIC photo.")


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_animations_are_refused(image_format: str) -> None:
    frames = [Image.new("RGB", (16, 16), colour) for colour in (RED, GREEN, BLUE)]
    data = encode(frames[0], image_format, save_all=True, append_images=frames[1:])
    assert refused(data).code == "animated"


def truncated(data: bytes) -> bytes:
    return data[: len(data) // 2]


@pytest.mark.parametrize(
    "make",
    [
        lambda: truncated(encode(photo_like(300, 200), "JPEG")),
        lambda: truncated(encode(photo_like(300, 200), "PNG")),
        lambda: truncated(encode(photo_like(300, 200), "WEBP")),
        lambda: truncated(heic(photo_like(300, 200))),
        lambda: encode(photo_like(300, 200), "JPEG")[:300],
        lambda: b"\xff\xd8\xff\xe0" + random.Random(1).randbytes(2000),
        lambda: b"\x89PNG\r\n\x1a\n" + random.Random(2).randbytes(2000),
        lambda: png_header_claiming(64, 64),  # a header with no pixel data behind it
    ],
    ids=[
        "truncated-jpeg",
        "truncated-png",
        "truncated-webp",
        "truncated-heic",
        "jpeg-cut-in-its-headers",
        "jpeg-signature-then-garbage",
        "png-signature-then-garbage",
        "png-without-pixels",
    ],
)
def test_a_damaged_photo_is_refused(make: Callable[[], bytes]) -> None:
    error = refused(make())
    assert error.code == "corrupt"
    assert str(error) == "The photo is damaged or incomplete. Try sending it again."


@pytest.mark.parametrize(
    "data",
    [
        png_header_claiming(50_000, 50_000),  # Pillow's own bomb error
        png_header_claiming(10_000, 10_000),  # Pillow would only warn
        png_header_claiming(7_000, 7_000),  # Pillow would not even warn
        jpeg_header_claiming(60_000, 60_000),
        jpeg_header_claiming(8_000, 6_000),
    ],
    ids=["png-2.5-gigapixels", "png-100-mp", "png-49-mp", "jpeg-3.6-gigapixels", "jpeg-48-mp"],
)
def test_a_decompression_bomb_is_refused_from_its_header_without_allocating_pixels(
    data: bytes,
) -> None:
    images_before = Image.core.get_stats()["new_count"]
    started = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        error = refused(data)
    assert time.perf_counter() - started < 1
    assert error.code == "too_many_pixels"
    assert str(error) == "The photo has too many pixels: at most 40 megapixels."
    assert Image.core.get_stats()["new_count"] == images_before, "pixel memory was allocated"
    assert not [w for w in caught if issubclass(w.category, Image.DecompressionBombWarning)]


def test_max_pixels_is_the_callers_limit() -> None:
    data = encode(photo_like(300, 200), "JPEG")
    assert refused(data, max_pixels=59_999).code == "too_many_pixels"
    assert process_photo(data, max_pixels=60_000).full.width == 300


def test_a_1x20000_strip_is_refused_for_its_aspect_ratio() -> None:
    error = refused(encode(Image.new("L", (1, 20_000), 128), "PNG"))
    assert error.code == "aspect_ratio"
    assert str(error) == (
        "The photo is too long and narrow: its long side may be at most 20 times its short side."
    )


def test_a_wide_panorama_is_accepted_up_to_the_aspect_limit() -> None:
    accepted = process_photo(encode(photo_like(2000, 100), "JPEG"))
    assert (accepted.full.width, accepted.full.height) == (2000, 100)
    assert (accepted.thumbnail.width, accepted.thumbnail.height) == (320, 16)
    assert refused(encode(photo_like(2100, 100), "JPEG")).code == "aspect_ratio"


# --- the error itself -------------------------------------------------------------------


def test_invalid_image_is_a_value_error_that_survives_pickling() -> None:
    error = InvalidImage("too_large", {"limit": 9.5})
    assert isinstance(error, ValueError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes, as a task queue does)
    assert (copy.code, copy.params, str(copy)) == (error.code, error.params, str(error))


def test_the_message_is_translated_when_it_is_read_not_when_raised() -> None:
    error = InvalidImage("too_large", {"limit": 9.5})
    assert error.message == "The photo is too large: at most 9.5 MB is accepted."
    with translation.override("vi"):
        # Until locale/vi has this msgid the English text shows; the number is Vietnamese.
        assert "9,5" in error.message
