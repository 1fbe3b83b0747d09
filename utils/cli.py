"""The ``workbook`` command: one entry point for authors and instructors.

    workbook build [--check]         generate chapters/ from solutions/ (or verify they match)
    workbook execute NOTEBOOK...     re-run solution notebooks in place, then rebuild chapters/
    workbook execute --all
    workbook progress [FOLDER]       a student's verdicts so far, read from the saved notebooks (default chapters/)
    workbook release OUT [--zip]     write the student bundle (chapters, utils, requirements; no solutions)
    workbook release --nbgrader DIR [--chapters C...]
                                     write an nbgrader course folder (source/, nbgrader_config.py, README.md)
    workbook grade PATHS... --out DIR [--jobs N] [--cell-timeout S] [--timeout S] [--memory-mb M] [--long]
                                     grade returned notebooks; see docs/INSTRUCTORS.md
    workbook grade --verify DIR      is a report folder as it was written? (0 intact, 1 changed, 2 not a report)
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

    progress = commands.add_parser("progress", help="show passed / failed / not attempted exercises, read from "
                                   "the verdicts saved in the notebooks (nothing is run)")
    progress.add_argument("folder", nargs="?", help="folder of notebooks, or one notebook (default chapters/, "
                          "or the current folder if it holds the notebooks)")

    release = commands.add_parser("release", help="write the student bundle (no solutions), or with --nbgrader "
                                  "an nbgrader course folder (its source/ holds the solutions)")
    release.add_argument("out", nargs="?", help="folder to create (or, with --zip, the archive's name)")
    release.add_argument("--zip", action="store_true", help="write OUT.zip instead of a folder")
    release.add_argument("--nbgrader", metavar="DIR", help="instead of the bundle, write an nbgrader course "
                         "folder: one assignment per chapter in DIR/source/, nbgrader_config.py, README.md")
    release.add_argument("--chapters", nargs="+", metavar="C", help="with --nbgrader: only these chapters "
                         "(stems or numbers, e.g. 00 02); default every chapter")

    grade = commands.add_parser("grade", help="grade returned student notebooks")
    grade.add_argument("paths", nargs="*", help="notebooks, folders (one per student, or flat) and .zip archives")
    grade.add_argument("--out", help="folder for the reports (new, empty, or an earlier report: it is replaced "
                       "at once when grading ends)")
    grade.add_argument("--verify", metavar="DIR", help="instead of grading, check that the report folder DIR is "
                       "as written (every file in its MANIFEST.json, unchanged, nothing added); exit 0 intact, "
                       "1 changed, 2 not a report folder")
    grade.add_argument("--long", action="store_true", help="a chapter not handed in gets one 'missing' row per "
                       "exercise in grades.csv (default: one 'not handed in' row per chapter)")
    grade.add_argument("--jobs", type=int, default=1, help="submissions graded at once (default 1)")
    grade.add_argument("--cell-timeout", type=float, default=60.0, help="seconds per cell (default 60)")
    grade.add_argument("--timeout", type=float, default=600.0, help="seconds per notebook (default 600)")
    grade.add_argument("--memory-mb", type=int, default=4096, help="kernel memory cap in MB, 0 = none (default 4096)")
    grade.add_argument("--chapters", nargs="+", help="chapters every student should hand in (default: those "
                       "anyone in the batch handed in)")

    args = parser.parse_args(argv)
    from utils.authoring.cells import NotebookError

    try:
        if args.command == "build":
            from utils.authoring.build import build as run_build

            return run_build(check_only=args.check)
        if args.command == "execute":
            from utils.authoring.execute import main as run_execute

            return run_execute(args.notebooks, run_all=args.all)
        if args.command == "progress":
            from utils.progress import progress_command

            return progress_command(args.folder)
        if args.command == "release":
            from utils.grading.command import release_command, release_nbgrader_command

            if args.nbgrader is not None:
                if args.out is not None or args.zip:
                    release.error("--nbgrader DIR takes no OUT and no --zip")
                return release_nbgrader_command(args.nbgrader, args.chapters)
            if args.out is None or args.chapters:
                release.error("give OUT (or --nbgrader DIR); --chapters goes with --nbgrader")
            return release_command(args.out, as_zip=args.zip)
        if args.command == "grade":
            from utils.grading.command import grade_command, verify_command
            from utils.grading.grade import Limits

            if args.verify is not None:
                if args.paths or args.out:
                    grade.error("--verify DIR takes no PATHS and no --out")
                return verify_command(args.verify)
            if not args.paths or not args.out:
                grade.error("give PATHS... and --out DIR (or --verify DIR)")

            limits = Limits(cell_timeout=args.cell_timeout, timeout=args.timeout, memory_mb=args.memory_mb)
            return grade_command(args.paths, args.out, jobs=max(1, args.jobs), limits=limits, chapters=args.chapters,
                                 long=args.long)
    except NotebookError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 2


if __name__ == "__main__":
    sys.exit(main())
