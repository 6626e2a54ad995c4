"""What licensing tells the layers above it.

`assets_withdrawn` is sent inside the transaction that withdraws: its receivers do what must hold at the same
commit (the versions holding the assets go off sale) and queue the rest through the outbox, so a rolled-back
withdrawal changes nothing and a committed one is never half done. `review_decided` is sent after the commit;
its receivers only queue a task.
"""

from django.dispatch import Signal

# Assets that stopped being sellable (for some uses at least) because consent was withdrawn or narrowed, a
# release covering them was revoked, or they were erased.
# Keyword arguments: asset_ids (list[int]), reason (str), withdrawn_at (datetime).
assets_withdrawn = Signal()

# Assets erased on request (sent inside the erasure's transaction): every stored copy is to go.
# Keyword arguments: asset_ids (list[int]).
assets_erased = Signal()

# A reviewer decided on a release or a consent; the creator should hear of it.
# Keyword arguments: creator_user_id (int), subject (str), approved (bool), reason (str), note (str), path (str).
review_decided = Signal()

# A model release's biometric consent reaches the end of its retention period (`ended` False: it will, on
# `retention_until`; True: it has, and no notice went out before). The creator and the person should hear of it.
# Keyword arguments: creator_user_id (int), person_email (str, may be empty), person_name (str),
# retention_until (date), ended (bool), path (str: the release's page, for the creator).
biometric_retention_ending = Signal()
