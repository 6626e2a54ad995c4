"""What datasets tells the layer above it. Sent after the transaction that caused them has committed, so a
receiver never acts on a change that was rolled back; receivers only enqueue a task."""

from django.dispatch import Signal

# Samples of a version its licensees must delete were recorded (a Revocation row).
# Keyword arguments: revocation_id (int).
revocation_recorded = Signal()

# A version was sealed and went on sale; it may be the replacement licensees of an earlier one are owed.
# Keyword arguments: version_id (int).
version_published = Signal()
