"""Template variables: defaults, required values, nullable, types as Orca checks them."""

from __future__ import annotations

from gennaker.templates.variables import resolve_variables

DECLARED = [
    {"name": "replicas", "type": "int", "defaultValue": 2},
    {"name": "ratio", "type": "float"},
    {"name": "region", "type": "string"},
    {"name": "canary", "type": "bool", "defaultValue": False},
    {"name": "regions", "type": "list", "defaultValue": ["eu"]},
    {"name": "extra", "nullable": True},
]


def test_given_values_and_defaults() -> None:
    values, errors = resolve_variables(DECLARED, {"region": "eu", "ratio": 0.5}, template_name="t")
    assert errors == []
    assert values == {
        "replicas": 2,
        "ratio": 0.5,
        "region": "eu",
        "canary": False,
        "regions": ["eu"],
        "extra": None,
    }


def test_missing_unknown_and_mistyped_variables_each_have_their_path() -> None:
    values, errors = resolve_variables(
        DECLARED, {"replicas": "two", "canary": "yes", "colour": "red"}, template_name="base"
    )
    by_path = {e.path: e.message for e in errors}
    assert by_path["$.variables.colour"].startswith("is not a variable of template base")
    assert by_path["$.variables.replicas"] == "must be of type int (found String)"
    assert by_path["$.variables.canary"] == "must be of type bool (found String)"
    assert "is required by template base" in by_path["$.variables.ratio"]
    assert "is required by template base" in by_path["$.variables.region"]
    assert "replicas" not in values


def test_lenient_numbers_and_null_for_a_non_nullable_variable() -> None:
    values, errors = resolve_variables(
        DECLARED, {"replicas": 3.0, "ratio": 1, "region": None}, template_name="t"
    )
    assert values["replicas"] == 3.0 and values["ratio"] == 1
    assert [e.path for e in errors] == ["$.variables.region"]
    assert errors[0].message == "is null but the variable is not nullable"


def test_booleans_are_not_integers() -> None:
    _, errors = resolve_variables([{"name": "n", "type": "int"}], {"n": True}, template_name="t")
    assert errors[0].message == "must be of type int (found Boolean)"
