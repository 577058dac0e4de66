from typing import Any

from django.core.management.base import BaseCommand

from ihanoi.feedback.catalogue import feedback_seed


class Command(BaseCommand):
    help = "Write the starting categories, questions, routing rules and rejection reasons."

    def handle(self, *args: Any, **options: Any) -> None:
        result = feedback_seed()
        self.stdout.write(
            f"Categories: {result.categories}, questions: {result.questions}, "
            f"city-wide routing rules: {result.rules}, rejection reasons: {result.reasons}."
        )
