from django.urls import URLPattern, URLResolver, path

from . import views

app_name = "oversight"
urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.dashboard, name="dashboard"),
    path("rankings/", views.rankings, name="rankings"),
    path("overdue/", views.overdue, name="overdue"),
    path("places/", views.places, name="places"),
    path("items/", views.items, name="items"),
    path("adoption/", views.adoption, name="adoption"),
    path("export/", views.export, name="export"),
    path("exports/", views.monthly_report, name="exports"),
    path("exports/<int:pk>/", views.export_job, name="export_job"),
    path("exports/<int:pk>/download/", views.export_download, name="export_download"),
    path("rollup/", views.rollup_now, name="rollup_now"),
    path("public/", views.public, name="public"),
]
