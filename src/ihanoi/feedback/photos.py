"""Photos attached to reports, decoded and cleaned before anything is stored."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from ihanoi.lib.images import InvalidImage, process_photo

# 48-megapixel phone cameras (8064×6048) must pass; JPEG scaled decoding keeps them cheap.
PHONE_MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class PreparedPhoto:
    """A photo re-encoded without metadata, with its thumbnail (bytes ready to store)."""

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    sha256: str


def prepare_uploads(files: Iterable[Any]) -> list[PreparedPhoto]:
    """Decode and re-encode uploads (CPU work done before any transaction opens); the first
    bad file stops everything with a message that names it."""
    prepared = []
    for upload in files:
        try:
            photo = process_photo(upload, max_pixels=PHONE_MAX_PIXELS)
        except InvalidImage as exc:
            name = getattr(upload, "name", "") or _("photo")
            raise ValidationError(
                {"photos": [_("%(name)s: %(problem)s") % {"name": name, "problem": exc.message}]}
            ) from exc
        prepared.append(
            PreparedPhoto(
                image=photo.full.data,
                thumbnail=photo.thumbnail.data,
                width=photo.full.width,
                height=photo.full.height,
                sha256=photo.sha256,
            )
        )
    return prepared
