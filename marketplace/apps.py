from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "marketplace"
    verbose_name = "Marketplace"

    def ready(self) -> None:
        from licensing.signals import review_decided

        from . import receivers

        review_decided.connect(receivers.review_decision_email, dispatch_uid="review-decision-email")
