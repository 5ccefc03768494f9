"""The errors ``ml`` raises on bad input, each with a stable machine-readable code."""


class SignatureInputError(ValueError):
    """A signature image or stroke set that cannot be turned into a model input.

    ``code`` is one of ``unreadable``, ``blank``, ``too_large``, ``too_few_points``,
    ``invalid_strokes``; the message is one human-readable line.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:  # one line, for CLIs and API errors alike
        return self.message


class CheckpointError(ValueError):
    """A file that is not a SigWeb checkpoint, or one of the wrong kind or version."""


class DocumentInputError(SignatureInputError):
    """A document (page image or PDF) that cannot be turned into pages.

    ``code`` is one of ``empty``, ``unreadable``, ``encrypted``, ``damaged``,
    ``too_many_pages``, ``too_large``; a subclass of ``SignatureInputError`` so every
    caller that maps input errors to a 4xx answer maps these too.
    """
