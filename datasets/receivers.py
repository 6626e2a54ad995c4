"""What datasets does when licensing announces something: enqueue a task, never the work itself."""

from datetime import datetime
from typing import Any


def supersede_on_withdrawal(*, asset_ids: list[int], reason: str, withdrawn_at: datetime, **_: Any) -> None:
    from .tasks import versions_supersede  # the task module imports the services, which import the models

    versions_supersede.delay(asset_ids, reason, withdrawn_at.isoformat())
