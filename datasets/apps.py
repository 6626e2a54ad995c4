from django.apps import AppConfig


class DatasetsConfig(AppConfig):
    name = "datasets"
    verbose_name = "Datasets"

    def ready(self) -> None:
        from licensing.signals import assets_erased, assets_withdrawn

        from . import checks, receivers  # noqa: F401 (checks registers itself)

        assets_withdrawn.connect(receivers.supersede_on_withdrawal, dispatch_uid="datasets-supersede")
        assets_erased.connect(receivers.purge_on_erasure, dispatch_uid="datasets-purge")
