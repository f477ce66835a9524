"""Frigga naming rules and Spinnaker monikers; expected results come from Frigga's and Clouddriver's specs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gennaker.model.moniker import (
    InvalidName,
    Moniker,
    Names,
    cluster_name,
    group_by_cluster,
    is_valid_app_name,
    is_valid_detail,
    is_valid_stack,
    next_sequence,
    parse_name,
    server_group_name,
    uses_reserved_format,
    validate_name,
    validate_parts,
)

# name -> (cluster, app, stack, detail, push, sequence), from Frigga's NamesSpec.
PARSED = {
    "chukwa.collector_1-v889": ("chukwa.collector_1", "chukwa.collector_1", None, None, "v889", 889),
    "actiondrainer": ("actiondrainer", "actiondrainer", None, None, None, None),
    "actiondrainer-v003": ("actiondrainer", "actiondrainer", None, None, "v003", 3),
    "actiondrainer--v003": ("actiondrainer-", "actiondrainer", None, None, "v003", 3),
    "actiondrainer---v003": ("actiondrainer--", "actiondrainer", None, None, "v003", 3),
    "api-test-A": ("api-test-A", "api", "test", "A", None, None),
    "api-test-A-v406": ("api-test-A", "api", "test", "A", "v406", 406),
    "api-test-~A-v004": ("api-test-~A", "api", "test", "~A", "v004", 4),
    "api-test-^A-v004": ("api-test-^A", "api", "test", "^A", "v004", 4),
    "api--~A-v004": ("api--~A", "api", None, "~A", "v004", 4),
    "api--^A-v004": ("api--^A", "api", None, "^A", "v004", 4),
    "api-test101": ("api-test101", "api", "test101", None, None, None),
    "chukwacollector_1": ("chukwacollector_1", "chukwacollector_1", None, None, None, None),
    "chukwacollector_1-v889": ("chukwacollector_1", "chukwacollector_1", None, None, "v889", 889),
    "discovery-dev": ("discovery-dev", "discovery", "dev", None, None, None),
    "discovery-us-east-1d": ("discovery-us-east-1d", "discovery", "us", "east-1d", None, None),
    "evcache-us-east-1d-0": ("evcache-us-east-1d-0", "evcache", "us", "east-1d-0", None, None),
    "evcache-us-east-1d-0-v223": ("evcache-us-east-1d-0", "evcache", "us", "east-1d-0", "v223", 223),
    "videometadata-navigator-integration-240-CAN": (
        "videometadata-navigator-integration-240-CAN",
        "videometadata",
        "navigator",
        "integration-240-CAN",
        None,
        None,
    ),
    "app-stack-detail-v001": ("app-stack-detail", "app", "stack", "detail", "v001", 1),
    # Pushes have 3 to 6 digits; anything else is an ordinary stack.
    "foo-v1": ("foo-v1", "foo", "v1", None, None, None),
    "foo-v01": ("foo-v01", "foo", "v01", None, None, None),
    "foo-v001": ("foo", "foo", None, None, "v001", 1),
    "foo-v0001": ("foo", "foo", None, None, "v0001", 1),
    "foo-v00001": ("foo", "foo", None, None, "v00001", 1),
    "foo-v000001": ("foo", "foo", None, None, "v000001", 1),
    "foo-v0000001": ("foo-v0000001", "foo", "v0000001", None, None, None),
    "app-v1000": ("app", "app", None, None, "v1000", 1000),
}

# Names Frigga's Names cannot parse (parseName gives all nulls, parseNameOrThrow throws).
UNPARSABLE = [
    None,
    "",
    "   ",
    "nccp-moviecontrol%27",
    "nccp-moviecontrol%27-v000",
    "nccp-moviecontrol%27-foo-chap-baseline",
    "nccp-moviecontrol-foo-hello$-chap-baseline-v000",
    "nccp-moviecontrol-foo-hello$-chap-baseline",
    "api-^test-A-v004",
    "api-~test-A-v004",
    "-v001",
    "-app",
    "app name",
    "app-stack-de tail",
    "app\n",
    "ünïcode-stack",
]


@pytest.mark.parametrize("name", sorted(PARSED))
def test_parse_name_matches_frigga(name: str) -> None:
    names = parse_name(name)
    parts = (names.cluster, names.app, names.stack, names.detail, names.push, names.sequence)
    assert parts == PARSED[name]
    assert names.group == name
    assert names.is_valid


@pytest.mark.parametrize("name", UNPARSABLE)
def test_unparsable_names_give_empty_names(name: str | None) -> None:
    assert parse_name(name) == Names()
    assert not parse_name(name).is_valid


LABELS = ("countries", "dev_phase", "hardware", "partners", "revision", "used_by", "red_black_swap", "zone")


@pytest.mark.parametrize(
    ("name", "stack", "detail", "labels"),
    [
        ("actiondrainer", None, None, {}),
        ("cass-v102", None, None, {}),
        (
            "cass-nccpintegration-random-junk-c0northamerica-d0prod-h0gamesystems-p0vizio-r027-u0nccp-w0A-z0useast1a-v003",
            "nccpintegration",
            "random-junk-c0northamerica-d0prod-h0gamesystems-p0vizio-r027-u0nccp-w0A-z0useast1a",
            {
                "countries": "northamerica",
                "dev_phase": "prod",
                "hardware": "gamesystems",
                "partners": "vizio",
                "revision": "27",
                "used_by": "nccp",
                "red_black_swap": "A",
                "zone": "useast1a",
            },
        ),
        (
            "cass-nccpintegration-c0northamerica-d0prod",
            "nccpintegration",
            "c0northamerica-d0prod",
            {"countries": "northamerica", "dev_phase": "prod"},
        ),
        (
            "cass--my-stuff-c0northamerica-d0prod",
            None,
            "my-stuff-c0northamerica-d0prod",
            {"countries": "northamerica", "dev_phase": "prod"},
        ),
        # app/stack/detail take priority: the labels still come off the end of the whole cluster name.
        (
            "cass-c0northamerica-d0prod",
            "c0northamerica",
            "d0prod",
            {"countries": "northamerica", "dev_phase": "prod"},
        ),
        (
            "cass-c0northamerica-d0prod-v102",
            "c0northamerica",
            "d0prod",
            {"countries": "northamerica", "dev_phase": "prod"},
        ),
        ("app-prod-c0usca-v000", "prod", "c0usca", {"countries": "usca"}),
        # A label not at the end of the name is not a labeled variable.
        ("app-prod-c0usca-east", "prod", "c0usca-east", {}),
        ("app-c0foo-bar-d0prod", "c0foo", "bar-d0prod", {"dev_phase": "prod"}),
        # Frigga finds a label anywhere in the trailing labeled run, even inside another label's value.
        ("app-dev-d0abc0x", "dev", "d0abc0x", {"dev_phase": "abc0x", "countries": "x"}),
    ],
)
def test_labeled_variables(name: str, stack: str | None, detail: str | None, labels: dict[str, str]) -> None:
    names = parse_name(name)
    assert (names.app, names.stack, names.detail) == (name.split("-")[0], stack, detail)
    assert {label: getattr(names, label) for label in LABELS} == {
        label: labels.get(label) for label in LABELS
    }


@pytest.mark.parametrize(
    ("name", "part", "value", "why"),
    [
        ("", "name", "", "empty"),
        ("-v001", "app", "", "empty"),
        ("app#1-dev", "app", "app#1", "'#'"),
        ("nccp-moviecontrol%27-v000", "stack", "moviecontrol%27", "'%'"),
        ("api-^test-A-v004", "stack", "^test", "'^'"),
        ("api-~test-A-v004", "stack", "~test", "'~'"),
        ("nccp-moviecontrol-foo-hello$-chap-baseline-v000", "detail", "foo-hello$-chap-baseline", "'$'"),
        ("app-dev-east coast", "detail", "east coast", "' '"),
        ("a" * 251, "app", "a" * 251, "250"),
        (f"app-dev-{'d' * 250}-v000", "name", f"app-dev-{'d' * 250}-v000", "255"),
    ],
)
def test_validate_name_names_the_wrong_part(name: str, part: str, value: str, why: str) -> None:
    with pytest.raises(InvalidName) as caught:
        validate_name(name)
    assert (caught.value.part, caught.value.value) == (part, value)
    assert why in str(caught.value)
    assert f"invalid {part} {value!r}" in str(caught.value)


@pytest.mark.parametrize("name", sorted(PARSED))
def test_validate_name_accepts_what_frigga_parses(name: str) -> None:
    assert validate_name(name) == parse_name(name)


def test_validate_name_length_limit_can_be_changed() -> None:
    name = "kubeapp-" + "s" * 60
    assert validate_name(name).stack == "s" * 60
    with pytest.raises(InvalidName, match="68 characters long, more than 63"):
        validate_name(name, max_length=63)
    assert validate_name("x" * 250 + "-" + "d" * 300, max_length=None).app == "x" * 250


@pytest.mark.parametrize(
    ("app", "valid"),
    [
        ("abha", True),
        ("account_batch", True),
        ("account.batch", True),
        ("Mixed.Case_09", True),
        ("v001", True),
        ("a" * 250, True),
        ("a" * 251, False),
        ("account#batch", False),
        ("account-batch", False),
        ("", False),
        ("app~", False),
    ],
)
def test_is_valid_app_name(app: str, valid: bool) -> None:
    assert is_valid_app_name(app) is valid


@pytest.mark.parametrize(
    ("stack", "valid"),
    [
        (None, True),
        ("", True),
        ("prod", True),
        ("test101", True),
        ("v12", True),
        ("v1234567", True),
        ("v123", False),
        ("v000001", False),
        ("pr-od", False),
        ("^prod", False),
        ("pr od", False),
    ],
)
def test_is_valid_stack(stack: str | None, valid: bool) -> None:
    assert is_valid_stack(stack) is valid


@pytest.mark.parametrize(
    ("detail", "valid"),
    [
        (None, True),
        ("", True),
        ("A", True),
        ("0", True),
        ("east-1c-0", True),
        ("230CAN-next-A", True),
        ("integration-240-USA", True),
        ("integration-240-usa-iphone-ipad-ios5-even-numbered-days-not-weekends", True),
        ("----", True),
        ("__._._--_..", True),
        ("A^", True),
        ("something-^1.0.0.0", True),
        ("A~", True),
        ("something-~1.0.0.0", True),
        ("abc-v12b3-def", True),
        ("230CAN#next-A", False),
        ("v123", False),
        ("abc-v123-def", False),
        ("abc-v123", False),
        ("east!", False),
    ],
)
def test_is_valid_detail(detail: str | None, valid: bool) -> None:
    assert is_valid_detail(detail) is valid


@pytest.mark.parametrize(
    ("name", "reserved"),
    [("v248", True), ("abcache-c0USA", True), ("c0USA", True), ("app-v001", True), ("hellojgritman", False)],
)
def test_uses_reserved_format(name: str, reserved: bool) -> None:
    assert uses_reserved_format(name) is reserved


@pytest.mark.parametrize(
    ("app", "stack", "detail", "cluster"),
    [
        ("app", "stack", "multi-part-detail", "app-stack-multi-part-detail"),
        ("app", "stack", "detail", "app-stack-detail"),
        ("app", "stack", None, "app-stack"),
        ("app", None, "detail", "app--detail"),
        ("app", "", "detail", "app--detail"),
        ("app", None, None, "app"),
        ("app", "", "", "app"),
        ("app", "prod", "c0usca", "app-prod-c0usca"),
    ],
)
def test_cluster_name(app: str, stack: str | None, detail: str | None, cluster: str) -> None:
    assert cluster_name(app, stack, detail) == cluster
    assert parse_name(cluster).cluster == cluster


@pytest.mark.parametrize(
    ("app", "stack", "detail", "sequence", "expected"),
    [
        ("foo", "bar", "east", 0, "foo-bar-east-v000"),
        ("foo", "bar", None, 1, "foo-bar-v001"),
        ("foo", None, None, 1, "foo-v001"),
        ("foo", None, "east", 1, "foo--east-v001"),
        ("app", "dev", "detail", 16, "app-dev-detail-v016"),
        ("app", "dev", None, 999, "app-dev-v999"),
        ("app", "dev", None, 1000, "app-dev-v1000"),
    ],
)
def test_server_group_name(
    app: str, stack: str | None, detail: str | None, sequence: int, expected: str
) -> None:
    assert server_group_name(app, stack, detail, sequence) == expected


@pytest.mark.parametrize(
    ("app", "stack", "detail", "part", "message"),
    [
        ("", None, None, "app", "empty"),
        ("my-app", None, None, "app", "'-'"),
        ("app", "v123", None, "stack", "push version"),
        ("app", "st-ack", None, "stack", "'-'"),
        ("app", None, "v123", "detail", "push version"),
        ("app", None, "abc-v123-def", "detail", "push version"),
        ("foo", "bar", "east!", "detail", "'!'"),
    ],
)
def test_building_rejects_bad_parts(
    app: str, stack: str | None, detail: str | None, part: str, message: str
) -> None:
    with pytest.raises(InvalidName, match=message) as caught:
        cluster_name(app, stack, detail)
    assert caught.value.part == part
    with pytest.raises(InvalidName):
        validate_parts(app, stack, detail)


@pytest.mark.parametrize("sequence", [-1, 1_000_000])
def test_server_group_name_rejects_sequences_that_cannot_parse_back(sequence: int) -> None:
    with pytest.raises(InvalidName, match="between 0 and 999999") as caught:
        server_group_name("app", "dev", None, sequence)
    assert caught.value.part == "sequence"


_name_part = st.text(alphabet="abcXYZ019._", min_size=1, max_size=8)
_detail = st.text(alphabet="abcXYZ019._-~^v", min_size=1, max_size=16)


@given(
    app=_name_part,
    stack=st.none() | _name_part,
    detail=st.none() | _detail,
    sequence=st.none() | st.integers(0, 999_999),
)
def test_built_names_parse_back_to_their_parts(
    app: str, stack: str | None, detail: str | None, sequence: int | None
) -> None:
    if not (is_valid_stack(stack) and is_valid_detail(detail)):
        with pytest.raises(InvalidName):
            validate_parts(app, stack, detail)
        return
    moniker = Moniker(app, stack, detail, cluster_name(app, stack, detail), sequence)
    assert Moniker.from_name(moniker.to_name()) == moniker


@pytest.mark.parametrize(
    ("name", "json"),
    [
        (
            "app-stack-detail-v001",
            {
                "app": "app",
                "stack": "stack",
                "detail": "detail",
                "cluster": "app-stack-detail",
                "sequence": 1,
            },
        ),
        ("app-v000", {"app": "app", "cluster": "app", "sequence": 0}),
        ("app--detail", {"app": "app", "detail": "detail", "cluster": "app--detail"}),
        ("app-dev", {"app": "app", "stack": "dev", "cluster": "app-dev"}),
    ],
)
def test_moniker_from_name_and_json(name: str, json: dict[str, str | int]) -> None:
    moniker = Moniker.from_name(name)
    assert moniker.to_json() == json
    assert list(moniker.to_json()) == [
        key for key in ("app", "stack", "detail", "cluster", "sequence") if key in json
    ]
    assert moniker.to_name() == name


def test_moniker_keeps_frigga_cluster_of_non_canonical_names() -> None:
    moniker = Moniker.from_name("actiondrainer--v003")
    assert moniker == Moniker("actiondrainer", None, None, "actiondrainer-", 3)
    assert moniker.to_name() == "actiondrainer-v003"


@pytest.mark.parametrize("name", ["api-^test-A-v004", "", "-v001"])
def test_moniker_from_unparsable_name(name: str) -> None:
    with pytest.raises(InvalidName) as caught:
        Moniker.from_name(name)
    assert str(caught.value).startswith("invalid ")
    assert repr(name) in str(caught.value)


@pytest.mark.parametrize(
    ("existing", "latest", "expected"),
    [
        ([], None, 0),
        (["app-v000"], None, 1),
        (["app-test-v009"], None, 10),
        (["app-dev-detail-v015"], None, 16),
        (["app-prod-c0usca-v000"], None, 1),
        # Gaps below the highest sequence are not reused.
        (["app-dev-v001", "app-dev-v007"], None, 8),
        (["app-dev-v003", "app-dev-v001"], None, 4),
        # 999 wraps to 000, and sequences still in use are skipped.
        (["app-dev-v999"], None, 0),
        (["app-dev-v997", "app-dev-v998", "app-dev-v999", "app-dev-v000"], None, 1),
        (["app-dev-v998", "app-dev-v999", "app-dev-v000", "app-dev-v001"], None, 2),
        # Clouddriver follows the latest server group, not the highest sequence.
        (["app-dev-v999", "app-dev-v005"], "app-dev-v005", 6),
        (["app-dev-v997", "app-dev-v998", "app-dev-v999", "app-dev-v000"], "app-dev-v999", 1),
        (["app-dev-v997", "app-dev-v998"], "app-dev-v997", 999),
        # A latest server group without a sequence counts as v000.
        (["app-dev-v997", "app-dev"], "app-dev", 1),
        (["app-dev"], None, 1),
        # Longer pushes wrap into the three-digit namespace.
        (["app-dev-v1000"], None, 1),
        (["app-dev-v001", "app-dev-v1000"], None, 2),
    ],
)
def test_next_sequence(existing: list[str], latest: str | None, expected: int) -> None:
    assert next_sequence(existing, latest=latest) == expected


def test_next_sequence_is_formatted_with_three_digits() -> None:
    existing = ["app-dev-v008", "app-dev-v009"]
    assert server_group_name("app", "dev", None, next_sequence(existing)) == "app-dev-v010"
    assert server_group_name("app", "dev", None, next_sequence(["app-dev-v999"])) == "app-dev-v000"


def test_next_sequence_fails_when_every_sequence_is_taken() -> None:
    with pytest.raises(ValueError, match="all 1000 server group sequences"):
        next_sequence(f"app-dev-v{seq:03d}" for seq in range(1000))


def test_next_sequence_refuses_names_from_several_clusters() -> None:
    with pytest.raises(ValueError, match="app-dev, app-prod"):
        next_sequence(["app-dev-v001", "app-prod-v002"])
    with pytest.raises(ValueError, match="several clusters"):
        next_sequence(["app-dev-v001"], latest="app-v003")


def test_group_by_cluster() -> None:
    names = ["app-dev-v001", "app-dev-v002", "app-v001", "app", "bad%name-v001"]
    assert group_by_cluster(names) == {
        "app-dev": ["app-dev-v001", "app-dev-v002"],
        "app": ["app-v001", "app"],
        None: ["bad%name-v001"],
    }
