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
