"""The OpenAPI schema names the token scope each operation needs."""

from typing import Any

from drf_spectacular.openapi import AutoSchema

from marketplace.api.authentication import required_scope


class ScopedAutoSchema(AutoSchema):
    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        scope = required_scope(self.view, self.method)
        operation["x-token-scope"] = scope
        note = f"An API token needs the `{scope}` scope."
        operation["description"] = (
            f"{operation['description']}\n\n{note}" if operation.get("description") else note
        )
        return operation
