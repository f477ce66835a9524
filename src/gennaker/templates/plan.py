"""Planning a templated pipeline into an ordinary one (Orca's V2 handler chain: load the template,
validate, assign variables, mutate the graph, generate).

The planned pipeline is ``template.pipeline`` with the pipeline config's ``id``, ``application`` and
``name``; its stages are the template's with the config's replacements and injections; its
``triggers``, ``parameterConfig``, ``notifications`` and ``expectedArtifacts`` are the template's
(each marked ``inherited: true``) followed by the config's own, unless the key is in the config's
``exclude`` list (or missing from its ``inherit`` list, when it has one), in which case only the
config's are used; ``templateVariables`` holds the resolved variables. Expressions are not
evaluated here: the launcher evaluates the planned pipeline as it evaluates any other.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from gennaker.errors import FieldError, InvalidInput, NotFound
from gennaker.store.templates import (
    SPINNAKER_PREFIX,
    PipelineTemplateRepository,
    parse_reference,
    template_digest,
)
from gennaker.templates.graph import GraphError, build_graph
from gennaker.templates.variables import resolve_variables

Json = dict[str, Any]

TEMPLATED_PIPELINE = "templatedPipeline"
#: The config keys whose template items a pipeline inherits, and the planned pipeline's key for each.
INHERITED = {
    "triggers": "triggers",
    "parameters": "parameterConfig",
    "notifications": "notifications",
    "expectedArtifacts": "expectedArtifacts",
}
_CONCURRENCY_DEFAULTS = {"limitConcurrent": True, "maxConcurrentExecutions": 0, "keepWaitingPipelines": False}


@dataclass(frozen=True)
class TemplateUsed:
    """Which template version a plan used (recorded on the execution)."""

    id: str
    reference: str
    digest: str

    def to_json(self) -> Json:
        """As recorded under the execution's ``gennaker.template``."""
        return {"id": self.id, "reference": self.reference, "digest": self.digest}


def is_templated(config: Mapping[str, Any]) -> bool:
    """Whether a pipeline config is an MPT v2 instance (Orca's preprocessor test)."""
    return config.get("type") == TEMPLATED_PIPELINE or (
        config.get("schema") == "v2" and config.get("template") is not None
    )


def template_reference(config: Mapping[str, Any]) -> str:
    """The config's ``template.reference``; InvalidInput naming the field when it is not usable."""
    template = config.get("template")
    reference = template.get("reference") if isinstance(template, Mapping) else None
    if not isinstance(reference, str) or not reference.startswith(SPINNAKER_PREFIX):
        raise InvalidInput(
            "",
            [
                FieldError(
                    "$.template.reference",
                    "is required: spinnaker://<templateId>, optionally :<tag> or @sha256:<digest>",
                )
            ],
        )
    return reference


def _excluded(config: Mapping[str, Any]) -> set[str]:
    exclude = config.get("exclude")
    excluded = {str(e) for e in exclude} if isinstance(exclude, list) else set()
    inherit = config.get("inherit")
    if isinstance(inherit, list):
        excluded |= {key for key in INHERITED if key not in {str(i) for i in inherit}}
    return excluded


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else []


def _merge_distinct(inherited: list[Any], own: list[Any]) -> list[Any]:
    merged: list[Any] = []
    for item in [*inherited, *own]:
        if item not in merged:
            merged.append(item)
    return merged


def _check_shapes(
    config: Mapping[str, Any], template: Mapping[str, Any], template_id: str
) -> list[FieldError]:
    errors: list[FieldError] = []
    if config.get("schema", "v2") != "v2":
        errors.append(
            FieldError("$.schema", 'must be "v2" (templated pipelines of MPT v1 are not supported)')
        )
    if template.get("schema") != "v2":
        errors.append(
            FieldError(
                "$.template.reference", f'template {template_id} is not an MPT v2 template (schema "v2")'
            )
        )
    pipeline = template.get("pipeline")
    if not isinstance(pipeline, dict):
        errors.append(FieldError("$.template.reference", f"template {template_id} has no pipeline object"))
    elif is_templated(pipeline):
        errors.append(
            FieldError(
                "$.template.reference",
                f"template {template_id}'s pipeline is itself templated; templates do not nest",
            )
        )
    stages = config.get("stages")
    if stages is not None and not isinstance(stages, list):
        errors.append(FieldError("$.stages", "must be a list of stages"))
    elif stages and template.get("protect") is True:
        errors.append(
            FieldError("$.stages", f"template {template_id} is protected: its stage graph cannot be changed")
        )
    for key in ("exclude", "inherit"):
        value = config.get(key)
        if value is not None and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            errors.append(FieldError(f"$.{key}", "must be a list of strings"))
    return errors


def plan_with(config: Mapping[str, Any], template: Mapping[str, Any]) -> Json:
    """The ordinary pipeline a templated config and its (already loaded) template give."""
    template_id = str(template.get("id") or "?")
    errors = _check_shapes(config, template, template_id)
    if errors:
        raise InvalidInput("", errors)
    variables, errors = resolve_variables(
        template.get("variables"), config.get("variables"), template_name=template_id
    )
    pipeline: Json = copy.deepcopy(dict(template["pipeline"]))
    try:
        pipeline["stages"] = build_graph(_items(pipeline.get("stages")), _items(config.get("stages")))
    except GraphError as exc:
        path = f"$.stages[{exc.index}].{exc.key}" if exc.index is not None else "$.template.reference"
        message = exc.message if exc.index is not None else f"in template {template_id}: {exc.message}"
        errors.append(FieldError(path.rstrip("."), message))
    if errors:
        raise InvalidInput("", errors)
    pipeline["id"] = config.get("id") or pipeline.get("id") or "unknown"
    pipeline["application"] = config.get("application")
    pipeline["name"] = config.get("name") or "Unnamed Execution"
    for key, default in _CONCURRENCY_DEFAULTS.items():
        if key not in pipeline:
            pipeline[key] = config.get(key, default)
    excluded = _excluded(config)
    for config_key, pipeline_key in INHERITED.items():
        own = _items(config.get(config_key))
        if config_key == "parameters" and not own:
            own = _items(config.get("parameterConfig"))
        if config_key in excluded:
            pipeline[pipeline_key] = own
            continue
        inherited = [
            {**item, "inherited": True} if isinstance(item, dict) else item
            for item in _items(pipeline.get(pipeline_key))
        ]
        pipeline[pipeline_key] = _merge_distinct(inherited, own)
    pipeline["templateVariables"] = variables
    pipeline.pop("schema", None)
    if pipeline.get("type") == TEMPLATED_PIPELINE:
        pipeline.pop("type")
    return pipeline


class TemplatePlanner:
    """Plans templated pipeline configs against the stored templates."""

    def __init__(self, templates: PipelineTemplateRepository) -> None:
        self.templates = templates

    def load(self, conn: Connection, config: Mapping[str, Any]) -> tuple[Json, TemplateUsed]:
        """The template version a config names; InvalidInput at ``$.template.reference`` if absent."""
        reference = template_reference(config)
        try:
            template = self.templates.resolve(conn, reference)
        except NotFound as exc:
            raise InvalidInput("", [FieldError("$.template.reference", str(exc))]) from None
        template_id, _, _ = parse_reference(reference)
        return template, TemplateUsed(template_id, reference, template_digest(template))

    def plan(self, conn: Connection, config: Mapping[str, Any]) -> tuple[Json, TemplateUsed]:
        """The planned pipeline and the template version used."""
        template, used = self.load(conn, config)
        return plan_with(config, template), used
