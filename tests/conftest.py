"""Suite-wide fixtures and the strict mode of CI.

With HOTLINE_TEST_STRICT=1 (what `make test` sets) a skipped test fails the run: a test that
could not run its real component (Asterisk, PostgreSQL, a model) has not shown anything.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["tests.fixtures.db", "tests.fixtures.pbx", "tests.fixtures.tts"]


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("HOTLINE_TEST_STRICT") != "1":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    skipped = reporter.stats.get("skipped", [])
    if skipped:
        reporter.write_line(
            f"HOTLINE_TEST_STRICT: {len(skipped)} test(s) skipped; in CI every test must run",
            red=True,
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
