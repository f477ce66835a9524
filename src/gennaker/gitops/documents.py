"""The files of a commit as pipeline and template documents.

One document per file, JSON or YAML. A document with ``schema: "v2"`` and a ``pipeline`` object is
a pipeline template (its ``tag`` field, default ``latest``, says which tag it is saved under);
anything else is a pipeline config. A pipeline names its application in an ``application`` field
or by the folder it is in (``<path>/<application>/<file>``); its ``name`` defaults to the file's
name without the extension. A document with ``kind: policy`` is a policy (the fields of a
``[[policies.rules]]`` entry).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

import yaml

Json = dict[str, Any]
PIPELINE = "pipeline"
TEMPLATE = "template"
POLICY = "policy"


@dataclass(frozen=True)
class FileError:
    """One problem of one file of the commit."""

    file: str
    line: int | None
    message: str

    def to_json(self) -> Json:
        """As the API and the sync history report it."""
        return {"file": self.file, "line": self.line, "message": self.message}

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}" if self.line else f"{self.file}: {self.message}"


@dataclass(frozen=True)
class Document:
    """A pipeline or template read from one file."""

    file: str
    kind: str
    #: ``<application>/<name>`` or ``<template id>:<tag>``.
    key: str
    body: Json


def _load(name: str, data: bytes) -> tuple[Any, FileError | None]:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, FileError(name, None, f"is not UTF-8 text ({exc.reason} at byte {exc.start})")
    if name.endswith(".json"):
        try:
            return json.loads(text), None
        except json.JSONDecodeError as exc:
            return None, FileError(name, exc.lineno, f"is not valid JSON: {exc.msg} (column {exc.colno})")
    try:
        return yaml.safe_load(text), None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        return None, FileError(name, line, f"is not valid YAML: {exc.problem or exc}")
    except yaml.YAMLError as exc:
        return None, FileError(name, None, f"is not valid YAML: {exc}")


def _application(name: str, root: str, body: Json) -> tuple[str | None, FileError | None]:
    relative = PurePosixPath(name).relative_to(root) if root else PurePosixPath(name)
    folder = relative.parts[0].lower() if len(relative.parts) > 1 else None
    given = body.get("application")
    if given is not None and not isinstance(given, str):
        return None, FileError(name, None, "application must be a string")
    if given and folder and given.lower() != folder:
        return None, FileError(
            name, None, f"names application {given!r} but lies in the folder of application {folder!r}"
        )
    application = (given or folder or "").lower() or None
    if application is None:
        return None, FileError(
            name, None, "names no application: add an 'application' field or put it in a folder"
        )
    return application, None


def parse_documents(files: dict[str, bytes], root: str) -> tuple[list[Document], list[FileError]]:
    """Every document of the commit, and every problem found reading them."""
    root = root.strip("/")
    documents: list[Document] = []
    errors: list[FileError] = []
    seen: dict[tuple[str, str], str] = {}
    for name in sorted(files):
        body, error = _load(name, files[name])
        if error is not None:
            errors.append(error)
            continue
        if not isinstance(body, dict):
            errors.append(FileError(name, None, "must hold one JSON/YAML object (a pipeline or a template)"))
            continue
        if body.get("kind") == POLICY:
            policy_name = body.get("name")
            if not isinstance(policy_name, str) or not policy_name:
                errors.append(FileError(name, None, "a policy needs a 'name'"))
                continue
            body.pop("kind")
            kind, key = POLICY, policy_name
        elif body.get("schema") == "v2" and isinstance(body.get("pipeline"), dict):
            template_id, tag = body.get("id"), body.pop("tag", None) or "latest"
            if not isinstance(template_id, str) or not template_id:
                errors.append(FileError(name, None, "a pipeline template needs an 'id'"))
                continue
            kind, key = TEMPLATE, f"{template_id}:{tag}"
        else:
            application, error = _application(name, root, body)
            if error is not None or application is None:
                errors.append(error or FileError(name, None, "names no application"))
                continue
            body["application"] = application
            if not body.get("name"):
                body["name"] = PurePosixPath(name).stem
            kind, key = PIPELINE, f"{application}/{body['name']}"
        if (kind, key) in seen:
            errors.append(FileError(name, None, f"{kind} {key} is also defined in {seen[(kind, key)]}"))
            continue
        seen[(kind, key)] = name
        documents.append(Document(name, kind, key, body))
    return documents, errors
