from tests.marketplace.revocation_helpers import tasks_in_process  # noqa: F401 - fixture
