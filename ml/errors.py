"""The errors a risk team can act on. Every one reaches the command line as one line and exit code 2."""


class MLError(ValueError):
    """A problem with the panel, the split, the training data or the registry, said in one line."""


class CannotTrain(MLError):
    """The panel cannot train a model that may reach supervisors (too few cases, one class only...).

    ``short`` is what a portrait shows instead of a level, e.g. "no model: too few cases"."""

    def __init__(self, message: str, short: str = "no model: too few cases"):
        super().__init__(message)
        self.short = short
