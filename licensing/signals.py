"""What licensing tells the layers above it. Receivers only enqueue a task on commit; they never do the work.

The signals are sent after the transaction that caused them has committed, so a receiver never acts on a
change that was rolled back.
"""

from django.dispatch import Signal

# Assets that stopped being sellable because consent was withdrawn or a release covering them was revoked.
# Keyword arguments: asset_ids (list[int]), reason (str), withdrawn_at (datetime).
assets_withdrawn = Signal()

# A reviewer decided on a release or a consent; the creator should hear of it.
# Keyword arguments: creator_user_id (int), subject (str), approved (bool), reason (str), note (str), path (str).
review_decided = Signal()

# A model release's biometric consent reaches the end of its retention period (`ended` False: it will, on
# `retention_until`; True: it has, and no notice went out before). The creator and the person should hear of it.
# Keyword arguments: creator_user_id (int), person_email (str, may be empty), person_name (str),
# retention_until (date), ended (bool), path (str: the release's page, for the creator).
biometric_retention_ending = Signal()
