"""Flow test cases as pytest items: each case of a ``*.tests.yaml`` file is one test.

``make test`` runs them next to the unit tests; a failure shows the same report as
``passerelle test``. A tests file with lint problems is a collection error listing them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.engine.flowtests import CaseResult, load_actions, run_case
from app.engine.flowtests_spec import Case, Suite, is_tests_file, load_suite


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if is_tests_file(file_path):
        return FlowTestsFile.from_parent(parent, path=file_path)
    return None


class FlowTestsFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        suite = load_suite(self.path)
        if suite.problems:
            raise self.CollectError("\n".join(str(p) for p in suite.problems))
        for case in suite.cases:
            yield FlowCaseItem.from_parent(self, name=case.name, suite=suite, case=case)


class FlowCaseFailed(Exception):
    def __init__(self, result: CaseResult) -> None:
        super().__init__(result.report())
        self.result = result


class FlowCaseItem(pytest.Item):
    def __init__(self, *, suite: Suite, case: Case, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.suite = suite
        self.case = case

    def runtest(self) -> None:
        result = asyncio.run(run_case(self.suite, self.case, actions=load_actions()))
        if not result.passed:
            raise FlowCaseFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, FlowCaseFailed):
            return excinfo.value.result.report()
        return str(super().repr_failure(excinfo, style))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, self.case.line - 1, f"{self.suite.flow_name} / {self.case.name}"
