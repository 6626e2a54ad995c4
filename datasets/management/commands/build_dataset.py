"""Build a new version of a dataset from the command line, with a progress bar, through the build task."""

import shutil
import threading
import time
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.template.defaultfilters import filesizeformat

from datasets import services
from datasets.models import Dataset, DatasetVersion
from datasets.tasks import version_build

POLL_SECONDS = 0.5
FINISHED = {DatasetVersion.Status.PUBLISHED, DatasetVersion.Status.FAILED}


class Command(BaseCommand):
    help = (
        "Freeze a dataset's selection into a new version and build its bundle. By default the build is queued "
        "for the workers and followed here; --here runs the same task in this process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="the dataset's short name")
        parser.add_argument("--note", default="", help="what changed, shown to buyers with the version")
        parser.add_argument("--here", action="store_true", help="run the build task in this process")
        parser.add_argument("--no-wait", action="store_true", help="queue the build and return at once")

    def handle(self, *args: Any, **options: Any) -> None:
        dataset = Dataset.objects.filter(slug=options["slug"]).first()
        if dataset is None:
            raise CommandError(f"No dataset is called {options['slug']!r}.")
        try:
            if options["here"]:
                # Frozen without queueing: this process is the worker.
                version = services.version_create(dataset=dataset, actor=None, change_note=options["note"])
            else:
                version = services.version_build_request(
                    dataset=dataset, actor=None, change_note=options["note"]
                )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            f"{version.name}: {version.item_count} items, {filesizeformat(version.total_bytes)}"
        )
        if options["no_wait"]:
            self.stdout.write("Queued; the workers build it.")
            return
        if options["here"]:
            builder = threading.Thread(target=self._build_here, args=[version.pk], daemon=True)
            builder.start()
        version = self._follow(version)
        if version.status == DatasetVersion.Status.FAILED:
            raise CommandError(f"The build failed: {version.failure_reason}")
        self.stdout.write(self.style.SUCCESS(f"{version.name} is published ({version.shards_done} shards)."))

    @staticmethod
    def _build_here(version_id: int) -> None:
        try:
            version_build.apply(args=[version_id], throw=False)
        finally:
            close_old_connections()

    def _follow(self, version: DatasetVersion) -> DatasetVersion:
        """Draw the build's progress until it ends."""
        while True:
            version.refresh_from_db()
            self._draw(version)
            if version.status in FINISHED:
                self.stdout.write("")
                return version
            time.sleep(POLL_SECONDS)

    def _draw(self, version: DatasetVersion) -> None:
        width = max(10, min(40, shutil.get_terminal_size().columns - 60))
        share = version.bytes_done / version.total_bytes if version.total_bytes else 0.0
        if version.status == DatasetVersion.Status.PUBLISHED:
            share = 1.0
        stage = (
            f"{version.items_done}/{version.item_count} items  {filesizeformat(version.bytes_done)}  "
            f"{version.shards_done} shards"
        )
        if (
            version.status == DatasetVersion.Status.BUILDING
            and not version.shards_done
            and version.item_count
        ):
            # Before the first shard, the build makes each item's delivery file.
            share = version.deliveries_done / version.item_count
            stage = f"{version.deliveries_done}/{version.item_count} delivery files"
        filled = round(share * width)
        line = (
            f"\r[{'#' * filled}{'.' * (width - filled)}] {share:6.1%}  {stage}  "
            f"{version.get_status_display().lower()}"
        )
        self.stdout.write(line, ending="")
        self.stdout.flush()
