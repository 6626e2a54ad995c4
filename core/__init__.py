"""The floor every app stands on: infrastructure, and no domain at all.

What lives here is what every app needs and none owns: the transactional outbox and the Celery base task
(`core.outbox`), which storage failures to retry and how tasks retry them (`storage_errors`), file hashing
(`hashing`), private stored files as responses and the no-AI headers (`files`), the API's error schema
(`api_schema`) and the form helper that shows a service's refusal (`forms`), sanitised Markdown (`markup`),
requests to URLs users name, kept off private networks (`outbound`), and what limits count a client by
(`client_identity`).

The charter: nothing here names a creator, a consent, a dataset or an order; no module imports an app (the
import-linter contract in pyproject.toml puts `core` below `creators`); `core.outbox` holds the only models,
and they are infrastructure (queued tasks), not domain.
"""
