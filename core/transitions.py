"""The one move of every hand-written state machine: a model's `status` to a state its `TRANSITIONS` table
allows from where it stands, or a refusal in words."""

from typing import Any, Protocol

from django.core.exceptions import ValidationError


class StateMachine(Protocol):
    """A model with a `status` field; its class holds the `Status` choices and the `TRANSITIONS` table (a dict
    from each state to the frozenset of states it may move to)."""

    status: Any

    def get_status_display(self) -> str: ...


def transition(instance: StateMachine, target: str, *, subject: str) -> str:
    """Set `instance.status` to `target` if the model's TRANSITIONS allow it; the state it left. Otherwise a
    ValidationError with code `invalid_transition`: "<subject> is paid; it cannot become cancelled."."""
    model: Any = type(instance)
    current = str(instance.status)
    if target not in model.TRANSITIONS[current]:
        raise ValidationError(
            f"{subject} is {instance.get_status_display().lower()}; it cannot become "
            f"{model.Status(target).label.lower()}.",
            code="invalid_transition",
        )
    instance.status = target
    return current
