"""Configuration errors that always say where: `FILE:LINE: message`.

Every problem found while loading or validating the configuration becomes a `ConfigError` carrying
the file (relative to the config dir when it lies inside it, or a pseudo-file such as
`env:GPU_GUARD_PCT` for environment overrides) and the 1-based line, so `streamops check-config`
can print lines an editor can jump to.  Messages never contain secret values.
"""

from __future__ import annotations

from collections.abc import Iterable


class ConfigError(Exception):
    """One configuration problem with its place (file and line may be unknown)."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None) -> None:
        if isinstance(line, str):
            # Also accept the order (file, line, message): a line is never a string, so it is unambiguous.
            file, line, message = message, file, line  # type: ignore[assignment]
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line

    @property
    def location(self) -> tuple[str | None, int | None]:
        return self.file, self.line

    def __str__(self) -> str:
        if self.file is None:
            return self.message
        if self.line is None:
            return f"{self.file}: {self.message}"
        return f"{self.file}:{self.line}: {self.message}"

    def __repr__(self) -> str:
        return f"ConfigError({self.message!r}, file={self.file!r}, line={self.line!r})"

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str | None, int | None]]:
        # Keeps file/line when the error crosses a process boundary (pickling).
        return type(self), (self.message, self.file, self.line)


class ConfigErrors(Exception):
    """Several configuration problems at once (e.g. everything `check-config` found)."""

    def __init__(self, errors: Iterable[ConfigError]) -> None:
        self.errors: list[ConfigError] = list(errors)
        super().__init__(self.errors)

    def __str__(self) -> str:
        return "\n".join(str(err) for err in self.errors)

    def __reduce__(self) -> tuple[type[ConfigErrors], tuple[list[ConfigError]]]:
        return type(self), (self.errors,)
