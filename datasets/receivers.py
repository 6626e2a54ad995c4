"""What datasets does when licensing announces something."""

from datetime import datetime
from typing import Any

from .services import versions_take_off_sale


def supersede_on_withdrawal(*, asset_ids: list[int], reason: str, withdrawn_at: datetime, **_: Any) -> None:
    """In the withdrawal's own transaction: its versions go off sale at the same commit, or not at all."""
    versions_take_off_sale(asset_ids=asset_ids, reason=reason, withdrawn_at=withdrawn_at)


def purge_on_erasure(*, asset_ids: list[int], **_: Any) -> None:
    """Queued in the erasure's transaction: the bundles that held the assets lose them once it commits."""
    from .tasks import versions_purge_erased  # the task module imports these receivers' services

    versions_purge_erased.delay_on_commit(asset_ids)
