"""The one state-machine move every model uses."""

import pytest
from django.core.exceptions import ValidationError
from django.db import models

from core.transitions import transition


class Ticket:
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed for good"

    TRANSITIONS = {Status.OPEN: frozenset({Status.CLOSED}), Status.CLOSED: frozenset()}

    def __init__(self, status: str) -> None:
        self.status = status

    def get_status_display(self) -> str:
        return str(self.Status(self.status).label)


def test_an_allowed_move_sets_the_state_and_answers_the_one_left():
    ticket = Ticket(Ticket.Status.OPEN)

    assert transition(ticket, Ticket.Status.CLOSED, subject="This ticket") == "open"
    assert ticket.status == "closed"


def test_a_move_the_table_does_not_allow_is_refused_in_words_and_changes_nothing():
    ticket = Ticket(Ticket.Status.CLOSED)

    with pytest.raises(ValidationError) as refused:
        transition(ticket, Ticket.Status.OPEN, subject="This ticket")

    assert refused.value.code == "invalid_transition"
    assert refused.value.messages == ["This ticket is closed for good; it cannot become open."]
    assert ticket.status == "closed"
