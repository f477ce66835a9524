"""The one error type expressions raise, with the Java exception name Spinnaker would report."""

from __future__ import annotations

from gennaker.errors import GennakerError

SPEL_EVALUATION = "org.springframework.expression.spel.SpelEvaluationException"
SPEL_PARSE = "org.springframework.expression.spel.SpelParseException"
HELPER_FUNCTION = "com.netflix.spinnaker.kork.expressions.SpelHelperFunctionException"
NUMBER_FORMAT = "java.lang.NumberFormatException"
INDEX_OUT_OF_BOUNDS = "java.lang.StringIndexOutOfBoundsException"
ILLEGAL_ARGUMENT = "java.lang.IllegalArgumentException"
ARITHMETIC = "java.lang.ArithmeticException"
PATTERN_SYNTAX = "java.util.regex.PatternSyntaxException"
DATE_TIME = "java.time.DateTimeException"


class ExpressionError(GennakerError):
    """An expression could not be parsed or evaluated; ``java_type`` names Spinnaker's equivalent."""

    status = 400

    def __init__(self, message: str, java_type: str = SPEL_EVALUATION) -> None:
        super().__init__(message)
        self.java_type = java_type


class ExpressionSyntaxError(ExpressionError):
    """The text is not a valid expression; ``line`` and ``column`` (1-based) say where."""

    def __init__(self, message: str, *, line: int = 1, column: int = 1) -> None:
        super().__init__(f"{message} (line {line}, column {column})", SPEL_PARSE)
        self.line = line
        self.column = column


class LimitExceeded(ExpressionError):
    """An evaluation went past a configured limit (length, steps, time, size)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, SPEL_EVALUATION)


def helper_error(message: str) -> ExpressionError:
    """An error raised by a helper function (``#stage``, ``#toJson`` ...)."""
    return ExpressionError(message, HELPER_FUNCTION)
