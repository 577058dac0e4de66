"""Create the public pages' cache table (the ``public`` cache, settings.CACHES) on databases
migrated before it existed. ``createcachetable`` skips the tables that exist, and does
nothing for a cache in Redis."""

from django.core.management import call_command
from django.db import migrations


def create_cache_tables(apps, schema_editor):
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


class Migration(migrations.Migration):
    dependencies = [("web", "0001_cache_table")]

    operations = [migrations.RunPython(create_cache_tables, migrations.RunPython.noop)]
