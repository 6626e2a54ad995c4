from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from datasets.signals import revocation_recorded, version_published
        from licensing.signals import biometric_retention_ending, review_decided

        from . import checks, receivers  # noqa: F401 (checks registers itself)

        review_decided.connect(receivers.review_decision_email, dispatch_uid="review-decision-email")
        biometric_retention_ending.connect(
            receivers.biometric_retention_email, dispatch_uid="biometric-retention-email"
        )
        revocation_recorded.connect(receivers.revocation_notify_queue, dispatch_uid="revocation-notify")
        version_published.connect(receivers.upgrades_grant_queue, dispatch_uid="upgrades-grant")
