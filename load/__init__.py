"""The load test: simulated buyers browse, search and download against gunicorn and a Celery worker.

`make load` (or `python -m load`) builds a scratch site on PostgreSQL and Redis, runs locust headless against
it and prints requests per second and response-time percentiles per kind of request; see load/__main__.py.
"""
