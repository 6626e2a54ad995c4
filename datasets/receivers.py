"""What datasets does when licensing announces something: enqueue a task, never the work itself."""

import logging
from datetime import datetime
from typing import Any

logger = logging.getLogger(__name__)


def supersede_on_withdrawal(*, asset_ids: list[int], reason: str, withdrawn_at: datetime, **_: Any) -> None:
    from .tasks import versions_supersede  # the task module imports the services, which import the models

    try:
        versions_supersede.delay(asset_ids, reason, withdrawn_at.isoformat())
    except Exception:
        # The withdrawal has committed and must not fail now; versions_supersede_missed (beat) catches up.
        logger.exception("Could not queue the supersession of versions holding assets %s", asset_ids)
