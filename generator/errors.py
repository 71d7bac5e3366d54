"""Domain errors: the library raises these, and only the CLI turns them into exit codes."""


class ArtError(Exception):
    """Base of every error a user can fix; its message is the one line they see."""


class SpecError(ArtError, ValueError):
    """An artwork specification that cannot be rendered as given."""


class OutputError(ArtError):
    """An output location that cannot be written."""


class InputError(ArtError, ValueError):
    """An input file that cannot be read as what it should be."""
