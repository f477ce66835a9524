"""Pipeline configs (Spinnaker's pipeline JSON, §1 of the Orca reference): validation and refIds.

A config stays a plain JSON object everywhere, so fields Gennaker does not know round-trip
unchanged. ``validate_pipeline`` reports every problem at once, each with the JSON path it is
at (``$.stages[3].type``); ``check_pipeline`` raises them as one ``InvalidInput``.

Gennaker's additions are checked here too: ``finally`` (a second stage graph run after the main
one), ``locks`` and stage ``retry`` (see ARCHITECTURE.md, "Additions").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gennaker.errors import FieldError, InvalidInput
from gennaker.model.pipeline_fields import (
    check_locks,
    check_notifications,
    check_parameter_config,
    check_retry,
    check_triggers,
)
from gennaker.model.pipeline_graph import check_stage_graph

Json = dict[str, Any]
#: Answers whether a stage type (or alias) names a registered stage.
StageTypeCheck = Callable[[str], bool]
#: Why a stage type cannot use a cloud provider here, or None when it can.
ProviderCheck = Callable[[str, str], "str | None"]

#: Gennaker's opt-in pipeline (and template) field: ``true`` saves a config whose stage types or
#: cloud providers are not configured here (a config meant for another installation); it still
#: fails when it runs here.
ALLOW_UNAVAILABLE = "allowUnavailableStages"
#: Stage fields that name the cloud provider a stage runs on.
PROVIDER_FIELDS = ("cloudProvider", "cloudProviderType")


@dataclass(frozen=True)
class Availability:
    """What is configured here, for the checks made when a config is saved."""

    has_stage: StageTypeCheck
    provider_problem: ProviderCheck


#: refIds given to linear ``finally`` stages: ``finally-0``, ``finally-1``... Main stages get
#: ``0``, ``1``... (as Orca does), so the two sequences never meet.
FINALLY_REF_PREFIX = "finally-"
TEMPLATED_PIPELINE = "templatedPipeline"


def validate_pipeline(
    config: object,
    *,
    require_name: bool = True,
    require_application: bool = True,
    known_stage_type: StageTypeCheck | None = None,
    availability: Availability | None = None,
) -> list[FieldError]:
    """Every problem of a pipeline config, each with its JSON path; empty when it is valid.

    ``known_stage_type`` refuses unknown stage types (at run time). ``availability`` is the check
    made when a config is saved: unknown stage types and cloud providers not configured here,
    each naming the stage's refId, unless the config sets ``allowUnavailableStages: true``."""
    if not isinstance(config, dict):
        return [FieldError("$", "a pipeline config must be a JSON object")]
    errors: list[FieldError] = []
    _check_text(config, "name", require_name, errors)
    _check_text(config, "application", require_application, errors)
    if config.get(ALLOW_UNAVAILABLE) not in (None, True, False):
        errors.append(FieldError(f"$.{ALLOW_UNAVAILABLE}", "must be true or false"))
    if availability is not None and config.get(ALLOW_UNAVAILABLE) is True:
        availability = None
    linear = assign_linear_ref_ids(config)
    main = _stages(linear, "stages", known_stage_type, errors, required=True)
    final = _stages(linear, "finally", known_stage_type, errors, required=False)
    if availability is not None:
        for path, stage in [*main, *final]:
            errors.extend(stage_availability(stage, path, availability))
    # A templated pipeline's stages are spliced into the template's graph when it is planned, so
    # their edges can only be checked on the planned pipeline.
    if config.get("type") != TEMPLATED_PIPELINE:
        errors.extend(check_stage_graph(main, final))
    check_parameter_config(config.get("parameterConfig"), "$.parameterConfig", errors)
    check_triggers(config.get("triggers"), "$.triggers", errors)
    check_notifications(config.get("notifications"), "$.notifications", errors)
    check_locks(config.get("locks"), "$.locks", errors)
    return errors


def stage_availability(stage: Json, path: str, availability: Availability) -> list[FieldError]:
    """The save-time problems of one stage: an unknown stage type, a cloud provider not configured."""
    hint = f"; set {ALLOW_UNAVAILABLE}: true on the config to save it for another installation"
    who = f"stage {stage.get('refId')!r}"
    stage_type = stage.get("type")
    alias = stage.get("alias")
    if isinstance(alias, str) and alias:
        if not availability.has_stage(alias):
            return [FieldError(f"{path}.alias", f"{who}: unknown stage type '{alias}'{hint}")]
        return []
    if not isinstance(stage_type, str) or not stage_type.strip():
        return []
    if not availability.has_stage(stage_type):
        return [FieldError(f"{path}.type", f"{who}: unknown stage type '{stage_type}'{hint}")]
    for key in PROVIDER_FIELDS:
        provider = stage.get(key)
        if not isinstance(provider, str) or not provider.strip() or "${" in provider:
            continue
        problem = availability.provider_problem(stage_type, provider)
        if problem is not None:
            return [FieldError(f"{path}.{key}", f"{who}: {problem}{hint}")]
    return []


def check_pipeline(
    config: object,
    *,
    require_name: bool = True,
    require_application: bool = True,
    known_stage_type: StageTypeCheck | None = None,
) -> None:
    """Raise InvalidInput listing every problem of a pipeline config."""
    errors = validate_pipeline(
        config,
        require_name=require_name,
        require_application=require_application,
        known_stage_type=known_stage_type,
    )
    if errors:
        raise InvalidInput("", errors)


def _check_text(config: Json, key: str, required: bool, errors: list[FieldError]) -> None:
    value = config.get(key)
    if value is None:
        if required:
            errors.append(FieldError(f"$.{key}", "is required"))
    elif not isinstance(value, str):
        errors.append(FieldError(f"$.{key}", "must be a string"))
    elif required and not value.strip():
        errors.append(FieldError(f"$.{key}", "must not be empty"))


def _stages(
    config: Json,
    key: str,
    known_stage_type: StageTypeCheck | None,
    errors: list[FieldError],
    *,
    required: bool,
) -> list[tuple[str, Json]]:
    """The (path, stage) pairs of one block, with each stage's own fields checked."""
    if key not in config:
        return []
    value = config[key]
    if value is None and not required:
        return []
    if not isinstance(value, list):
        errors.append(FieldError(f"$.{key}", "must be a list of stages"))
        return []
    stages = []
    for index, stage in enumerate(value):
        path = f"$.{key}[{index}]"
        if not isinstance(stage, dict):
            errors.append(FieldError(path, "a stage must be a JSON object"))
            continue
        _check_stage(stage, path, known_stage_type, errors)
        stages.append((path, stage))
    return stages


def _check_stage(
    stage: Json, path: str, known_stage_type: StageTypeCheck | None, errors: list[FieldError]
) -> None:
    stage_type = stage.get("type")
    if not isinstance(stage_type, str) or not stage_type.strip():
        errors.append(FieldError(f"{path}.type", "is required"))
        stage_type = None
    alias = stage.get("alias")
    if alias is not None and not isinstance(alias, str):
        errors.append(FieldError(f"{path}.alias", "must be a string"))
    elif known_stage_type is not None:
        # Orca's DefaultStageResolver looks the alias up instead of the type when there is one
        # (preconfiguredWebhook, preconfiguredJob).
        if alias is not None:
            if not known_stage_type(alias):
                errors.append(FieldError(f"{path}.alias", f"unknown stage type '{alias}'"))
        elif stage_type is not None and not known_stage_type(stage_type):
            errors.append(FieldError(f"{path}.type", f"unknown stage type '{stage_type}'"))
    check_retry(stage.get("retry"), f"{path}.retry", errors)
    check_notifications(stage.get("notifications"), f"{path}.notifications", errors)


def assign_linear_ref_ids(config: Json) -> Json:
    """A copy of the config where a block of stages without any refId is chained in list order.

    This is Orca's ``OperationsController.applyStageRefIds``: when no stage has a refId, stage i
    gets refId ``str(i)`` (from 0) and ``requisiteStageRefIds`` ``[str(i - 1)]`` (``[]`` for the
    first). The ``finally`` block is treated the same way on its own, with ``finally-0``,
    ``finally-1``... so its refIds cannot clash with the main ones. A block where any stage has a
    refId, or that holds something other than stage objects, is left as it is. The input is not
    modified.
    """
    out = dict(config)
    for key, prefix in (("stages", ""), ("finally", FINALLY_REF_PREFIX)):
        stages = config.get(key)
        if (
            isinstance(stages, list)
            and stages
            and all(isinstance(s, dict) and s.get("refId") is None for s in stages)
        ):
            chained = []
            for index, stage in enumerate(stages):
                copy = dict(stage)
                copy["refId"] = f"{prefix}{index}"
                copy["requisiteStageRefIds"] = [f"{prefix}{index - 1}"] if index > 0 else []
                chained.append(copy)
            out[key] = chained
    return out
