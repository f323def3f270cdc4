"""The daemon's user-facing error: its message is printed as is, never as a traceback."""


class UserError(Exception):
    """A problem the user can fix; ``exit_code`` is what the command exits with."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code
