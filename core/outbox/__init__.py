"""Tasks queued in the same transaction as the change that asks for them (a transactional outbox).

A task queued with `delay_on_commit` is first written to a table, in the caller's transaction; after the
commit it is published to the broker at once, and if the broker cannot be reached the row stays and a
periodic relay publishes it later. So a task asked for while the broker is down runs when it is back, and
one asked for by a transaction that rolled back is never published. Delivery is at least once: a task the
broker took just before its row could be deleted is published again, a rare duplicate that the tasks,
idempotent already for Celery's own redeliveries, absorb (an email may go out twice). It lives in the lowest app because every app queues tasks.
"""
