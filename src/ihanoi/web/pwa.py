"""The installable app: the web app manifest and what the service worker keeps offline.

The service worker (template ``web/sw.js``) precaches the shell: the offline page, the
style sheet, the app's two scripts and the icons, about 30 KB. The report form's assets
(Leaflet, the map and form scripts) and the pages a resident opened are cached as they are
used, so that a first visit costs no more than the page itself; an installed app asks for
the report form's assets at once (``WARM_ASSETS``, web/static/web/app.js).

``service_worker_version`` changes whenever a precached file does: the browser then installs
the new worker, which drops the old caches.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from django.template.loader import get_template
from django.templatetags.static import PrefixNode, static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _

THEME_COLOUR = "#c8102e"
BACKGROUND_COLOUR = "#f7f7f8"

SHELL_ASSETS: tuple[str, ...] = (
    "web/site.css",
    "web/app.js",
    "web/drafts.js",
    "web/icons.svg",
    "web/icons/icon-192.png",
    "web/icons/badge-96.png",
    "web/icons/favicon-32.png",
)
# What the report form needs besides its page: cached when the form is first opened, or at
# once by an installed app.
WARM_ASSETS: tuple[str, ...] = (
    "leaflet/leaflet.css",
    "leaflet/leaflet.js",
    "leaflet/images/marker-icon.png",
    "leaflet/images/marker-icon-2x.png",
    "leaflet/images/marker-shadow.png",
    "web/map.js",
    "feedback/report_form.js",
)
# Pages the service worker never keeps: staff and administrators' tools, sign-in, APIs.
NEVER_CACHED_PREFIXES: tuple[str, ...] = (
    "/staff/",
    "/admin/",
    "/oversight/",
    "/accounts/",
    "/api/",
    "/open311/",
    "/i18n/",
    "/push/",
)


def _asset_bytes(path: str) -> bytes:
    found = finders.find(path)
    if found:
        with open(found if isinstance(found, str) else found[0], "rb") as handle:
            return handle.read()
    if staticfiles_storage.exists(path):
        with staticfiles_storage.open(path) as handle:
            return bytes(handle.read())
    return path.encode()


def _compute_version() -> str:
    digest = hashlib.sha256()
    template = get_template("web/sw.js").template  # type: ignore[attr-defined]
    digest.update(template.source.encode())
    for path in SHELL_ASSETS + WARM_ASSETS:
        digest.update(path.encode())
        digest.update(_asset_bytes(path))
    digest.update(get_template("web/offline.html").template.source.encode())  # type: ignore[attr-defined]
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _cached_version() -> str:
    return _compute_version()


def service_worker_version() -> str:
    # Outside DEBUG the files change only with a deploy, which restarts the process.
    return _compute_version() if settings.DEBUG else _cached_version()


def service_worker_context() -> dict[str, Any]:
    return {
        "version": service_worker_version(),
        "precache": [reverse("web:offline"), *(static(p) for p in SHELL_ASSETS)],
        "warm": [reverse("feedback:new"), *(static(p) for p in WARM_ASSETS)],
        "offline_url": reverse("web:offline"),
        "shapes_path": reverse("places:wards_geojson"),
        "static_prefix": urlsplit(PrefixNode.handle_simple("STATIC_URL")).path,
        "logout_path": reverse("account_logout"),
        "never_cached": NEVER_CACHED_PREFIXES,
        "drafts_js": static("web/drafts.js"),
        "badge": static("web/icons/badge-96.png"),
        "icon": static("web/icons/icon-192.png"),
    }


def manifest() -> dict[str, Any]:
    """The web app manifest, in the visitor's language."""
    icons = [
        {"src": static("web/icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
        {"src": static("web/icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
        {
            "src": static("web/icons/maskable-512.png"),
            "sizes": "512x512",
            "type": "image/png",
            "purpose": "maskable",
        },
    ]
    shortcut_icon = [{"src": static("web/icons/icon-192.png"), "sizes": "192x192"}]
    return {
        "id": "/",
        "name": "iHaNoi",
        "short_name": "iHaNoi",
        "description": _(
            "Send feedback to the city from the spot and follow it until it is handled."
        ),
        "lang": get_language() or settings.LANGUAGE_CODE,
        "dir": "ltr",
        "start_url": "/?source=pwa",
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": BACKGROUND_COLOUR,
        "categories": ["government", "utilities"],
        "icons": icons,
        "shortcuts": [
            {
                "name": _("Send feedback"),
                "url": reverse("feedback:new"),
                "icons": shortcut_icon,
            },
            {"name": _("My reports"), "url": reverse("feedback:mine"), "icons": shortcut_icon},
        ],
    }
