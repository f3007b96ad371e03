"""What the property tests share: the property itself (works, or one line and exit 2), and the CLI in-process."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass

from hypothesis import settings

from tony.core.errors import TonyError


def scaled(fraction: float) -> settings:
    """The loaded profile's settings with `fraction` of its max_examples (at least 5), for costly examples."""
    return settings(max_examples=max(5, int(settings.default.max_examples * fraction)))


def assert_one_line(err: TonyError) -> None:
    """A user error as the CLI prints it: one line, saying something, exit code 2."""
    message = str(err)
    assert message.strip(), f"{type(err).__name__} with an empty message"
    assert len(message.splitlines()) == 1, f"a message of several lines: {message!r}"
    assert err.exit_code == 2


@dataclass
class Done:
    """What `tony ARGS` did, run in this process."""

    code: int
    stdout: str
    stderr: str

    def assert_one_line_error(self) -> None:
        assert self.code == 2, (self.code, self.stderr)
        lines = self.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("tony: error: "), self.stderr
        assert "Traceback" not in self.stderr


@contextlib.contextmanager
def _quiet_progress() -> Iterator[None]:
    saved = os.environ.get("TONY_PROGRESS")
    os.environ["TONY_PROGRESS"] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("TONY_PROGRESS", None)
        else:
            os.environ["TONY_PROGRESS"] = saved


def cli(*args: str) -> Done:
    """`tony ARGS` through tony.cli.main in this process (so the embedded model loads once for every example).

    Any exception but SystemExit escapes: a traceback is what the property forbids."""
    from tony.cli import main

    out, err = io.StringIO(), io.StringIO()
    with _quiet_progress(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exit_:  # argparse's own errors
            code = exit_.code if isinstance(exit_.code, int) else 1
    return Done(code, out.getvalue(), err.getvalue())
