"""Photo intake: every uploaded photo is decoded and re-encoded before anyone else sees it.

:func:`process_photo` takes what a phone or an Open311 client sent (JPEG, PNG, WebP or
HEIC/HEIF), refuses anything else with :class:`InvalidImage`, and returns a fresh JPEG plus a
thumbnail. Only pixels survive the trip (DESIGN §2 "Privacy"):

- EXIF (GPS, time, camera and owner names), XMP, IPTC, JPEG comments, PNG text chunks and
  appended data (Samsung motion-photo videos, MPO depth and stereo frames) are dropped;
- the EXIF orientation is applied to the pixels first, so the photo stays upright;
- an embedded ICC profile is applied (iPhones shoot Display P3) and then dropped: the output
  is plain sRGB, which every client shows right, and no resident-supplied bytes (an "ICC
  profile" can carry anything) reach another person's device;
- transparency is flattened onto white; the long side is bounded by ``max_side``.

Output is baseline JPEG (quality 85, optimised Huffman tables): every browser, phone and
Open311 client reads it. WebP would be about a third smaller but takes ~13x as long to encode.

Refused (``InvalidImage.code``): GIF, still or animated (a graphic or an animation, never a
camera photo), and BMP, TIFF/DNG, AVIF, JPEG 2000/XL, PSD: ``unsupported_format``; animated
PNG/WebP: ``animated`` (an MPO's or HEIF's extra images are depth maps or stereo views of one
photo: the primary image is taken); a long side more than ``max_aspect_ratio`` times the short
side: ``aspect_ratio`` (no camera, panoramas included, makes a 1×20000 strip; it would show as
a line, with a thumbnail one pixel wide). The byte limit is checked before decoding, the pixel
limit on the header before any pixel memory is allocated. Every decoder error is ``corrupt``:
the whole image is decoded with ``load()`` (``verify()`` checks little beyond PNG checksums).

Pure: imports no models. HEIF support is registered with Pillow once, at import.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal, Protocol

import pillow_heif
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from PIL import ExifTags, Image, ImageCms, UnidentifiedImageError

pillow_heif.register_heif_opener()

MiB = 1024 * 1024
MAX_BYTES = 15 * MiB
MAX_PIXELS = 40_000_000
MAX_SIDE = 2048
THUMB_SIDE = 320
# Long side / short side. Phone panoramas are rarely wider than ~10:1; 20 leaves them room.
MAX_ASPECT_RATIO = 20.0

JPEG_QUALITY = 85
THUMB_QUALITY = 80
CONTENT_TYPE = "image/jpeg"

# Pillow's plugin names of what we decode. "JPEG" also opens MPO (a JPEG with extra frames
# appended: stereo pairs, depth maps), of which the first frame is the photo.
_DECODERS = ("JPEG", "PNG", "WEBP", "HEIF")
# Formats where extra frames are time steps (an animation), not auxiliary images of one photo.
_ANIMATION_FORMATS = frozenset({"PNG", "WEBP"})

# ISO base media ("ftyp") brands: HEVC-coded HEIF is what iPhones and some Androids write;
# AV1-coded AVIF has the same container but we do not take it.
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_HEIF_GENERIC_BRANDS = frozenset({b"mif1", b"msf1"})
_AVIF_BRANDS = frozenset({b"avif", b"avis"})

# EXIF orientation → the transposition that makes the pixels upright (as ImageOps.exif_transpose).
_UPRIGHT: dict[int, Image.Transpose] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

ErrorCode = Literal[
    "empty",
    "too_large",
    "not_image",
    "unsupported_format",
    "animated",
    "corrupt",
    "too_many_pixels",
    "aspect_ratio",
]

_MESSAGES: dict[ErrorCode, Promise] = {
    "empty": _("The photo file is empty."),
    "too_large": _("The photo is too large: at most %(limit)s MB is accepted."),
    "not_image": _("This file is not a photo. Send a JPEG, PNG, WebP or HEIC image."),
    "unsupported_format": _(
        "%(format)s images are not accepted. Send a JPEG, PNG, WebP or HEIC photo."
    ),
    "animated": _("Animated images are not accepted. Send a photo."),
    "corrupt": _("The photo is damaged or incomplete. Try sending it again."),
    "too_many_pixels": _("The photo has too many pixels: at most %(limit)s megapixels."),
    "aspect_ratio": _(
        "The photo is too long and narrow: its long side may be at most %(limit)s times "
        "its short side."
    ),
}


class InvalidImage(ValueError):
    """An upload that cannot become a photo. ``code`` is for programs, ``message`` for people.

    The message is translated when it is read (``str(exc)``, ``exc.message``), in the language
    active then, so an error raised in a background task still reaches the resident in theirs.
    """

    def __init__(self, code: ErrorCode, params: Mapping[str, object] | None = None) -> None:
        self.code: ErrorCode = code
        self.params: dict[str, object] = dict(params or {})
        super().__init__(code, self.params)

    @property
    def message(self) -> str:
        template = str(_MESSAGES[self.code])
        if not self.params:
            return template
        return template % {
            key: _decimal(value) if isinstance(value, int | float) else value
            for key, value in self.params.items()
        }

    def __str__(self) -> str:
        return self.message


class Readable(Protocol):
    """A binary stream: an open file, ``io.BytesIO``, a Django ``UploadedFile``."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True, slots=True)
class EncodedImage:
    data: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE

    @property
    def extension(self) -> str:
        return "jpg"


@dataclass(frozen=True, slots=True)
class ProcessedPhoto:
    full: EncodedImage
    thumbnail: EncodedImage
    original_format: str  # "JPEG", "PNG", "WEBP" or "HEIF"
    sha256: str  # hex digest of full.data: a content address, and equal uploads are equal


def process_photo(
    data: bytes | Readable,
    *,
    max_bytes: int = MAX_BYTES,
    max_pixels: int = MAX_PIXELS,
    max_side: int = MAX_SIDE,
    thumb_side: int = THUMB_SIDE,
    max_aspect_ratio: float = MAX_ASPECT_RATIO,
) -> ProcessedPhoto:
    """Decode an uploaded photo and re-encode it without metadata, upright, bounded in size.

    ``data`` is the file's bytes or a binary stream, read from its current position and never
    beyond ``max_bytes + 1`` bytes. Raises :class:`InvalidImage` for anything that is not a
    whole photo in an accepted format within the limits; never returns a partial result.
    Pillow's global ``Image.MAX_IMAGE_PIXELS`` still applies on top of ``max_pixels``, and
    ``ImageFile.LOAD_TRUNCATED_IMAGES`` must stay False (its default) for truncated files to be
    refused.
    """
    if min(max_bytes, max_pixels, max_side, thumb_side) < 1 or max_aspect_ratio < 1:
        raise ValueError("limits must be positive and max_aspect_ratio at least 1")
    raw = _read_bounded(data, max_bytes)
    image = _open(raw, max_pixels=max_pixels)
    original_format = "JPEG" if image.format == "MPO" else str(image.format)
    _check_header(image, max_pixels=max_pixels, max_aspect_ratio=max_aspect_ratio)

    width, height = image.size
    target = _fit(width, height, max_side)
    try:
        if original_format == "JPEG":
            # libjpeg can decode at 1/2, 1/4 or 1/8 scale for free; draft() picks the smallest
            # scale that is still at least the target, so nothing is lost (48 MP → 2048 px
            # decodes a quarter of the pixels).
            image.draft(None, target)
        image.load()
        # After load: a PNG may keep its EXIF after the pixel data.
        orientation = _orientation(image)
        icc_profile = image.info.get("icc_profile")
        pixels = _resizable(image)
    except MemoryError:
        raise
    except Exception as exc:
        # Any decoder failure (truncated data, bad Huffman tables, broken zlib stream, libheif
        # errors) means a damaged upload, not a server fault.
        raise InvalidImage("corrupt") from exc

    if pixels.size != target:
        # Bicubic (antialiased, as Pillow's thumbnail() uses): a third less time than Lanczos on
        # a 12 MP photo, where the resize is most of the work, and no visible difference at ~2x.
        pixels = pixels.resize(target, Image.Resampling.BICUBIC)
    pixels = _srgb(_flatten(pixels), icc_profile)
    if orientation in _UPRIGHT:
        # After the resize: the bound is a square, so the order does not change the result,
        # and turning 3 MP is cheaper than turning 12 MP.
        pixels = pixels.transpose(_UPRIGHT[orientation])

    full = _encode(pixels, quality=JPEG_QUALITY)
    thumb_size = _fit(pixels.width, pixels.height, thumb_side)
    thumb_pixels = (
        pixels
        if thumb_size == pixels.size
        else pixels.resize(thumb_size, Image.Resampling.BICUBIC, reducing_gap=2.0)
    )
    thumbnail = _encode(thumb_pixels, quality=THUMB_QUALITY)
    return ProcessedPhoto(
        full=full,
        thumbnail=thumbnail,
        original_format=original_format,
        sha256=hashlib.sha256(full.data).hexdigest(),
    )


def _read_bounded(data: bytes | Readable, max_bytes: int) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
    else:
        # Small reads: a stream claiming gigabytes costs at most max_bytes + 1 bytes of memory
        # and of reading, whatever it turns out to hold.
        chunks: list[bytes] = []
        remaining = max_bytes + 1
        while remaining > 0:
            chunk = data.read(min(remaining, MiB))
            if not isinstance(chunk, bytes):
                raise TypeError("photo streams must be opened in binary mode")
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        raw = b"".join(chunks)
    if not raw:
        raise InvalidImage("empty")
    if len(raw) > max_bytes:
        raise InvalidImage("too_large", {"limit": max_bytes / MiB})
    return raw


def _open(raw: bytes, *, max_pixels: int) -> Image.Image:
    """Identify the image and read its header; no pixel is decoded yet."""
    sniffed = _sniff(raw)
    if sniffed is not None and sniffed not in _DECODERS:
        # Refused by signature, before any parser sees the data.
        raise InvalidImage("unsupported_format", {"format": sniffed})
    try:
        # Pillow warns from ~89 MP and raises from ~179 MP. The header check below is the real
        # limit; turning the warning into an error only keeps logs quiet. catch_warnings is
        # process-wide, so a concurrent thread may see the filter come or go early: harmless
        # either way, as the explicit check refuses the same images.
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return Image.open(io.BytesIO(raw), formats=_DECODERS)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InvalidImage("too_many_pixels", {"limit": max_pixels / 1e6}) from exc
    except UnidentifiedImageError as exc:
        # The signature of an accepted format with a header its decoder rejects is damage;
        # anything else (PDF, HTML, text, random bytes) is simply not a photo.
        raise InvalidImage("corrupt" if sniffed else "not_image") from exc
    except MemoryError:
        raise
    except Exception as exc:
        raise InvalidImage("corrupt") from exc


def _sniff(raw: bytes) -> str | None:
    """Format name from the file signature, for accepted and known refused formats."""
    head = raw[:64]
    if head.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        box_size = int.from_bytes(head[:4], "big")
        brands = {head[8:12]} | {
            head[i : i + 4] for i in range(16, min(box_size, len(head)) - 3, 4)
        }
        if brands & _HEIF_BRANDS:
            return "HEIF"
        if brands & _AVIF_BRANDS:
            return "AVIF"
        if brands & _HEIF_GENERIC_BRANDS:
            return "HEIF"
        return None  # MP4, MOV, 3GP and other ISO media: not a photo
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "GIF"
    if head.startswith((b"II*\x00", b"MM\x00*")):
        return "TIFF"  # also camera raw (DNG, CR2, NEF, ARW)
    # "BM" alone starts plenty of text; the DIB header size field must be one of the known.
    if head.startswith(b"BM") and int.from_bytes(head[14:18], "little") in {
        12,
        40,
        52,
        56,
        64,
        108,
        124,
    }:
        return "BMP"
    if head.startswith(b"8BPS"):
        return "PSD"
    if head.startswith((b"\x00\x00\x00\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51")):
        return "JPEG 2000"
    if head.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")):
        return "JPEG XL"
    return None


def _check_header(image: Image.Image, *, max_pixels: int, max_aspect_ratio: float) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage("corrupt")
    if width * height > max_pixels:
        raise InvalidImage("too_many_pixels", {"limit": max_pixels / 1e6})
    if image.format in _ANIMATION_FORMATS and getattr(image, "n_frames", 1) > 1:
        raise InvalidImage("animated")
    if max(width, height) > max_aspect_ratio * min(width, height):
        raise InvalidImage("aspect_ratio", {"limit": max_aspect_ratio})


def _fit(width: int, height: int, bound: int) -> tuple[int, int]:
    """The size that fits in a ``bound``-sided square, keeping the aspect; never enlarged."""
    longest = max(width, height)
    if longest <= bound:
        return width, height
    scale = bound / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        # Cheap phones write broken EXIF; a photo is still a photo, shown as stored.
        return 1
    return value if isinstance(value, int) else 1


def _resizable(image: Image.Image) -> Image.Image:
    """Pixels in a mode that resizes correctly: RGB, RGBA, L, LA or CMYK.

    Alpha is kept through the resize (Pillow resamples it premultiplied) and flattened after,
    on the smaller image.
    """
    mode = image.mode
    if mode in {"RGB", "RGBA", "L", "LA", "CMYK"}:
        return image
    if mode == "1":
        return image.convert("L")
    if mode.startswith("I") or mode == "F":
        # 16-bit greyscale PNG: convert("L") would clip everything above 255 to white.
        return image.convert("I").point(lambda value: value / 256).convert("L")
    if mode in {"P", "PA"}:
        has_alpha = mode == "PA" or "transparency" in image.info
        return image.convert("RGBA" if has_alpha else "RGB")
    if mode in {"RGBa", "RGBX"}:
        return image.convert("RGBA" if mode == "RGBa" else "RGB")
    if mode == "La":
        return image.convert("LA")
    return image.convert("RGB")  # YCbCr, LAB, HSV


def _flatten(image: Image.Image) -> Image.Image:
    """Transparency onto white: JPEG has no alpha, and black (the default) hides dark drawings."""
    if image.mode not in {"RGBA", "LA"}:
        return image
    background = Image.new(image.mode.removesuffix("A"), image.size, "white")
    background.paste(image, mask=image.getchannel("A"))
    return background


def _srgb(image: Image.Image, icc_profile: object) -> Image.Image:
    """RGB pixels in sRGB: the embedded profile applied, or assumed sRGB if there is none."""
    if isinstance(icc_profile, bytes) and icc_profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
            already_srgb = "srgb" in ImageCms.getProfileDescription(source).lower()
            if not (already_srgb and image.mode == "RGB"):
                converted = ImageCms.profileToProfile(
                    image, source, ImageCms.createProfile("sRGB"), outputMode="RGB"
                )
                if converted is not None:
                    return converted
        except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
            pass  # A broken or mismatched profile (RGB profile on grey pixels): ignore it.
    return image if image.mode == "RGB" else image.convert("RGB")


def _encode(image: Image.Image, *, quality: int) -> EncodedImage:
    # Pillow carries info (EXIF, XMP, ICC, comment) through resize and transpose and writes
    # some of it back on save (the JPEG comment, for one): start from nothing.
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return EncodedImage(data=buffer.getvalue(), width=image.width, height=image.height)


def _decimal(value: float) -> str:
    """A number for a message, in the active language's format: 15, 9.5 (en), 9,5 (vi)."""
    # One decimal is enough for limits in MB or megapixels; two significant digits below 1
    # so that a small test limit does not read "0".
    rounded = round(value, 1) if value >= 1 else float(f"{value:.2g}")
    return number_format(int(rounded) if rounded.is_integer() else rounded)
