"""Locks on consents and releases for writers in higher apps, owned here because these rows are licensing's.

The freeze of a dataset version, its seal and a sale must see withdrawals settled: they take these locks, in
id order, before any row of their own (the version), as withdrawals lock consents before announcing them, so
a withdrawal and such a writer meet one after the other.
"""

from .models import Consent, Release


def lock_sellability(asset_ids: list[int]) -> None:
    """Lock the active consents and approved releases of these assets, in id order, as withdrawals do.

    A withdrawal or revocation that committed before the locks are granted is seen by the next query; one
    that comes later waits for this transaction and is then announced, so the version is superseded.
    """
    list(
        Consent.objects.select_for_update()
        .filter(asset_id__in=asset_ids, status=Consent.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Release.objects.select_for_update()
        .filter(assets__in=asset_ids, status=Release.Status.APPROVED)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
