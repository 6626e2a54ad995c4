"""The one exception the commands raise for anything a user can act on; the CLI prints it as one line."""


class ClientError(Exception):
    """A failure explained in one line, with the process exit code it calls for."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code
