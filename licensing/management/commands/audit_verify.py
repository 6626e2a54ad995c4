from django.core.management.base import BaseCommand, CommandError

from licensing.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Walk the audit log's hash chain and report the first broken link."

    def handle(self, *args, **options) -> None:
        report = audit_chain_verify()
        if report.broken is not None:
            raise CommandError(
                f"Audit log broken at entry {report.broken.sequence}: {report.broken.problem} "
                f"({report.checked} entries read)."
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit log intact: {report.checked} entries, every link holds. "
                f"Newest entry {report.last_sequence}, hash {report.last_hash}."
            )
        )
