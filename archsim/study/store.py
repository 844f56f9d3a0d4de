"""The results store of a sweep: one JSON file per finished task, written atomically (temp file + rename).

A reader never sees half a file, so a sweep that is killed loses only the tasks in flight; a rerun finds every
finished task by its key and skips it (a task file that does not parse, damaged outside archsim, is computed again).
``computed.log`` gets one line per task computed by each run (the key and the run's id), which is how a resumed sweep
shows that no task was computed twice.
"""
from __future__ import annotations

import json
import os
import pathlib
import uuid

from archsim.report.files import write_json


class ResultStore:
    def __init__(self, root: str | pathlib.Path):
        self.root = pathlib.Path(root)
        self.tasks_dir = self.root / "tasks"
        self.tasks_dir.mkdir(parents=True, exist_ok=True)
        self.run_id = uuid.uuid4().hex[:12]

    def path(self, key: str) -> pathlib.Path:
        if not key or "/" in key or key.startswith("."):
            raise ValueError(f"bad task key {key!r}")
        return self.tasks_dir / f"{key}.json"

    def has(self, key: str) -> bool:
        """Whether the task is finished: its file holds a JSON object. A file that does not (cut short or edited
        outside archsim: its own writes are atomic) counts as not finished, so a rerun computes the task again and
        replaces it."""
        if not self.path(key).is_file():  # (a bad key raises here, as everywhere)
            return False
        try:
            return isinstance(self.get(key), dict)
        except (OSError, ValueError):
            return False

    def get(self, key: str) -> dict:
        p = self.path(key)
        try:
            return json.loads(p.read_text())
        except ValueError as err:  # not JSON, or not UTF-8 text
            raise ValueError(f"{p}: not a finished task's result ({err}); a rerun computes it again") from None

    def put(self, key: str, result: dict) -> None:
        write_json(self.path(key), result)
        line = json.dumps({"key": key, "run": self.run_id}) + "\n"
        fd = os.open(self.root / "computed.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:  # one short O_APPEND write per line: lines of concurrent writers never interleave
            os.write(fd, line.encode())
        finally:
            os.close(fd)

    def keys(self) -> set[str]:
        return {p.stem for p in self.tasks_dir.glob("*.json")}

    def computed_log(self) -> list[dict]:
        p = self.root / "computed.log"
        if not p.is_file():
            return []
        return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]
