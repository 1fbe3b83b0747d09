"""The ``workbook`` command: one entry point for authors and instructors.

    workbook build [--check]         generate chapters/ from solutions/ (or verify they match)
    workbook execute NOTEBOOK...     re-run solution notebooks in place, then rebuild chapters/
    workbook execute --all
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="workbook", description="Build, run and grade the CNN workbook.")
    commands = parser.add_subparsers(dest="command", required=True)

    build = commands.add_parser("build", help="generate chapters/ from solutions/")
    build.add_argument("--check", action="store_true", help="write nothing; fail if chapters/ is stale")

    execute = commands.add_parser("execute", help="re-run solution notebooks in place in a fresh kernel")
    execute.add_argument("notebooks", nargs="*", help="solution notebooks to run")
    execute.add_argument("--all", action="store_true", help="run every solution notebook")

    args = parser.parse_args(argv)
    from utils.authoring.cells import NotebookError

    try:
        if args.command == "build":
            from utils.authoring.build import build as run_build

            return run_build(check_only=args.check)
        if args.command == "execute":
            from utils.authoring.execute import main as run_execute

            return run_execute(args.notebooks, run_all=args.all)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
