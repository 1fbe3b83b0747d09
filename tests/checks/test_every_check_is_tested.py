"""Every registered check has mutation tests, and every check belongs to an exercise in a solution notebook."""

from pathlib import Path

from utils.authoring.build import solution_paths
from utils.authoring.cells import read_notebook, role
from utils.checks import registered_ids
from tests.conftest import REPO_ROOT

HERE = Path(__file__).parent


def test_every_check_id_is_named_in_a_mutation_test_file():
    test_sources = "\n".join(p.read_text() for p in HERE.glob("test_ch*.py"))
    untested = [i for i in registered_ids() if f'"{i}"' not in test_sources]
    assert untested == [], f"checks without mutation tests: {untested}"


def test_every_check_belongs_to_a_code_exercise():
    exercise_ids = set()
    for path in solution_paths(REPO_ROOT):
        exercise_ids |= {c.metadata["workbook"]["id"] for c in read_notebook(path).cells
                         if role(c) == "exercise" and c.cell_type == "code"}
    assert set(registered_ids()) == exercise_ids
