from django.urls import URLPattern, URLResolver, path

from . import staff_views, views

app_name = "feedback"
urlpatterns: list[URLPattern | URLResolver] = [
    path("feedback/", views.public_list, name="public_list"),
    path("feedback/map/", views.public_map, name="map"),
    path("feedback/map.json", views.public_map_data, name="map_data"),
    path("feedback/new/", views.report_new, name="new"),
    path("feedback/nearby/", views.nearby, name="nearby"),
    path("feedback/mine/", views.my_reports, name="mine"),
    path("feedback/r/<uuid:public_id>/", views.report_detail, name="detail"),
    path("feedback/r/<uuid:public_id>/rate/", views.report_rate, name="rate"),
    path("feedback/r/<uuid:public_id>/reply/", views.report_reply, name="reply"),
    path("feedback/r/<uuid:public_id>/follow/", views.report_follow, name="follow"),
    path("staff/reports/", staff_views.inbox, name="inbox"),
    path("staff/reports/<int:pk>/", staff_views.staff_detail, name="staff_detail"),
    path("staff/reports/<int:pk>/<slug:slug>/", staff_views.staff_action, name="staff_action"),
]
