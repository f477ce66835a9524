"""The pipeline editor (JSON checked by ``POST /pipelines/validate`` on every change, forms for the
common fields, save, import of a Spinnaker pipeline JSON) and the revision history with a diff
between any two revisions and restore."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import Response

from gennaker.errors import NotFound
from gennaker.services import Services
from gennaker.store.pipelines import PipelineRevision
from gennaker.web.templating import render

router = APIRouter()

#: Top-level keys the store manages; the editor leaves them out of what it sends back as new.
_STORED_KEYS = ("id", "updateTs", "lastModifiedBy", "createTs")


def _text(config: object) -> str:
    return orjson.dumps(config, option=orjson.OPT_INDENT_2).decode()


def _stage_types(services: Services) -> list[str]:
    return sorted(services.registry.stage_types())


@router.get("/ui/applications/{application}/pipelines/new")
def new_pipeline(request: Request, application: str) -> Response:
    """An empty pipeline (or a pasted Spinnaker pipeline JSON) in the editor."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        try:
            app = services.applications.get(conn, application)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
    config = {
        "application": app["name"],
        "name": "",
        "keepWaitingPipelines": False,
        "limitConcurrent": True,
        "parameterConfig": [],
        "triggers": [],
        "notifications": [],
        "stages": [],
    }
    return render(
        request,
        "editor.html",
        application=app["name"],
        config=None,
        text=_text(config),
        stage_types=_stage_types(services),
    )


@router.get("/ui/applications/{application}/pipelines/{config_id}/edit")
def edit_pipeline(request: Request, application: str, config_id: str) -> Response:
    """A saved pipeline in the editor."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        try:
            config = services.pipelines.get(conn, config_id)
        except NotFound as exc:
            return render(request, "not_found.html", status_code=404, message=str(exc))
    return render(
        request,
        "editor.html",
        application=str(config.get("application") or application),
        config=config,
        text=_text(config),
        stage_types=_stage_types(services),
    )


@dataclass(frozen=True)
class DiffLine:
    """A line of a side-by-side diff: ``kind`` is equal, delete, insert or replace."""

    kind: str
    left_no: int | None
    left: str
    right_no: int | None
    right: str


def side_by_side(old: str, new: str) -> list[DiffLine]:
    """The lines of two texts aligned, as difflib matches them."""
    a, b = old.splitlines(), new.splitlines()
    out: list[DiffLine] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            out += [
                DiffLine("equal", i + 1, a[i], j + 1, b[j])
                for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
            ]
            continue
        left, right = list(range(i1, i2)), list(range(j1, j2))
        for k in range(max(len(left), len(right))):
            li = left[k] if k < len(left) else None
            rj = right[k] if k < len(right) else None
            kind = (
                "replace" if li is not None and rj is not None else "delete" if li is not None else "insert"
            )
            out.append(
                DiffLine(
                    kind,
                    None if li is None else li + 1,
                    "" if li is None else a[li],
                    None if rj is None else rj + 1,
                    "" if rj is None else b[rj],
                )
            )
    return out


def folded(lines: list[DiffLine], context: int = 3) -> list[DiffLine]:
    """The changed lines with ``context`` lines around them; each longer run of equal lines becomes
    one line of kind ``skip`` whose ``left`` says how many were left out."""
    keep = [False] * len(lines)
    for i, line in enumerate(lines):
        if line.kind != "equal":
            for j in range(max(0, i - context), min(len(lines), i + context + 1)):
                keep[j] = True
    out: list[DiffLine] = []
    skipped = 0
    for line, wanted in zip(lines, keep, strict=True):
        if wanted:
            if skipped:
                out.append(DiffLine("skip", None, f"{skipped} unchanged lines", None, ""))
                skipped = 0
            out.append(line)
        else:
            skipped += 1
    if skipped:
        out.append(DiffLine("skip", None, f"{skipped} unchanged lines", None, ""))
    return out


def _comparable(revision: PipelineRevision) -> str:
    """The revision's JSON without what changes on every save."""
    return _text({k: v for k, v in revision.body.items() if k not in ("updateTs", "lastModifiedBy")})


@router.get("/ui/applications/{application}/pipelines/{config_id}/history")
def history(request: Request, application: str, config_id: str, left: int = 0, right: int = 0) -> Response:
    """The saved revisions and the diff between two of them (by default the newest two)."""
    services: Services = request.app.state.services
    with services.db.read() as conn:
        revisions = services.pipelines.history(conn, config_id, limit=200)
    if not revisions:
        return render(request, "not_found.html", status_code=404, message=f"no pipeline {config_id}")
    by_number = {r.revision: r for r in revisions}
    newer = by_number.get(right) or revisions[0]
    older = by_number.get(left) or (revisions[1] if len(revisions) > 1 else revisions[0])
    lines = side_by_side(_comparable(older), _comparable(newer))
    return render(
        request,
        "history.html",
        application=application,
        config=revisions[0].body,
        config_id=config_id,
        revisions=revisions,
        older=older,
        newer=newer,
        lines=folded(lines),
        changed=any(line.kind != "equal" for line in lines),
    )
