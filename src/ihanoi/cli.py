"""The ``ihanoi`` command: Django's management commands under the project's own name.

``ihanoi locate 21.03 105.85``, ``ihanoi import-boundaries FILE`` and every other command
are management commands; a dash in the name is accepted for an underscore.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ihanoi.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
