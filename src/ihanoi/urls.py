from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path

urlpatterns: list[URLPattern | URLResolver] = [
    path("", include("ihanoi.web.urls")),
    path("accounts/", include("ihanoi.accounts.urls")),
    path("accounts/", include("allauth.urls")),
    path("places/", include("ihanoi.places.urls")),
    path("agencies/", include("ihanoi.agencies.urls")),
    path("", include("ihanoi.feedback.urls")),
    path("notifications/", include("ihanoi.notifications.urls")),
    path("open311/", include("ihanoi.open311.urls")),
    path("api/", include("ihanoi.api.urls")),
    path("oversight/", include("ihanoi.oversight.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]
if not settings.PRODUCTION:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
