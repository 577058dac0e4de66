"""A person's notifications newest first, as an index seek (the inbox page and the API).
Built online on PostgreSQL (``ihanoi.lib.migration_ops``): the outbox keeps taking rows."""

from django.conf import settings
from django.db import migrations, models

from ihanoi.lib.migration_ops import AddIndexOnline


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("notifications", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexOnline(
            model_name="notification",
            index=models.Index(
                fields=["recipient", "-created_at", "-id"], name="notification_list"
            ),
        ),
    ]
