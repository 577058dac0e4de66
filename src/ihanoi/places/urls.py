from django.urls import path, re_path

from . import api, views

app_name = "places"
urlpatterns = [
    path("", views.ward_list, name="list"),
    path("locate.json", api.locate_json, name="locate"),
    path("wards.geojson", api.wards_geojson, name="wards_geojson"),
    # Official codes are digits; anything else is no unit and never reaches the database.
    re_path(r"^(?P<code>[0-9]{1,10})/$", views.ward_detail, name="detail"),
]
