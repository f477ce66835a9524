"""Spinnaker monikers and the Frigga naming rules for clusters and server groups (app-stack-detail-v003)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# Character classes of com.netflix.frigga.NameConstants.
_NAME_CHARS = "a-zA-Z0-9._"
_HYPHEN_CHARS = "-" + _NAME_CHARS + r"~\^"

_PUSH_RE = re.compile(rf"([{_HYPHEN_CHARS}]*)-(v([0-9]{{3,6}}))")
_NAME_RE = re.compile(rf"([{_NAME_CHARS}]+)(?:-([{_NAME_CHARS}]*)(?:-([{_HYPHEN_CHARS}]*?))?)?")
_NAME_CHARS_RE = re.compile(rf"[{_NAME_CHARS}]+")
_HYPHEN_CHARS_RE = re.compile(rf"[{_HYPHEN_CHARS}]+")
_CONTAINS_PUSH_RE = re.compile(r"(^|-)v[0-9]{3,6}(-|$)")
# Only used to explain a rejected name: the push suffix whatever the characters before it.
_LOOSE_PUSH_RE = re.compile(r"(.*)-v[0-9]{3,6}", re.DOTALL)

_LABELED_VARIABLE = "[cdhpruwz]0[a-zA-Z0-9]+"
_LABELED_VARS_RE = re.compile(rf"(.*?)((?:(?:^|-){_LABELED_VARIABLE})+)")
_RESERVED_PUSH_RE = re.compile(r".*?v[0-9]{3,6}")
_RESERVED_LABEL_RE = re.compile(rf"(.*?-)?{_LABELED_VARIABLE}.*?")


def _label_re(key: str) -> re.Pattern[str]:
    return re.compile(rf"-?{key}0([a-zA-Z0-9]+)")


_LABEL_RES = {
    "countries": _label_re("c"),
    "dev_phase": _label_re("d"),
    "hardware": _label_re("h"),
    "partners": _label_re("p"),
    "revision": _label_re("r"),
    "used_by": _label_re("u"),
    "red_black_swap": _label_re("w"),
    "zone": _label_re("z"),
}

MAX_APP_NAME_LENGTH = 250
"""Orca's ApplicationNameValidator limit for aws, titus and openstack applications."""
MAX_NAME_LENGTH = 255
"""AWS's limit on an Auto Scaling group name, the default limit for a whole name."""
SEQUENCE_NAMESPACE = 1000
"""Clouddriver hands out sequences v000..v999, wrapping around after v999."""
MAX_SEQUENCE = 999_999
"""The largest sequence a name can carry: Frigga reads pushes of 3 to 6 digits."""

_NAME_CHARS_HINT = "letters, digits, '.' and '_'"
_HYPHEN_CHARS_HINT = "letters, digits, '.', '_', '-', '~' and '^'"


class InvalidName(ValueError):
    """A name, or one part of it, breaks the Frigga naming rules."""

    def __init__(self, part: str, value: str, reason: str, name: str | None = None) -> None:
        where = f" in name {name!r}" if name is not None and name != value else ""
        super().__init__(f"invalid {part} {value!r}{where}: {reason}")
        self.part = part
        self.value = value
        self.reason = reason
        self.name = name


@dataclass(frozen=True)
class Names:
    """Every field Frigga's Names reads from a name; all None when the name does not parse."""

    group: str | None = None
    cluster: str | None = None
    app: str | None = None
    stack: str | None = None
    detail: str | None = None
    push: str | None = None
    sequence: int | None = None
    countries: str | None = None
    dev_phase: str | None = None
    hardware: str | None = None
    partners: str | None = None
    revision: str | None = None
    used_by: str | None = None
    red_black_swap: str | None = None
    zone: str | None = None

    @property
    def is_valid(self) -> bool:
        """The name parsed."""
        return self.app is not None


def parse_name(name: str | None) -> Names:
    """Split a cluster or server group name into Frigga's parts; an unparsable name gives empty Names."""
    if name is None or not name.strip():
        return Names()
    push_match = _PUSH_RE.fullmatch(name)
    cluster = push_match.group(1) if push_match else name
    name_match = _NAME_RE.fullmatch(cluster)
    if name_match is None:
        return Names()
    labels: dict[str, str | None] = dict.fromkeys(_LABEL_RES)
    # Frigga reads labeled variables off the end of the whole cluster name, not only the detail.
    labels_match = _LABELED_VARS_RE.fullmatch(cluster)
    if labels_match:
        for field, pattern in _LABEL_RES.items():
            found = pattern.search(labels_match.group(2))
            labels[field] = found.group(1) if found else None
    return Names(
        group=name,
        cluster=cluster,
        app=name_match.group(1),
        stack=name_match.group(2) or None,
        detail=name_match.group(3) or None,
        push=push_match.group(2) if push_match else None,
        sequence=int(push_match.group(3)) if push_match else None,
        **labels,
    )


def _bad_chars(value: str, allowed: re.Pattern[str]) -> str:
    bad = sorted({char for char in value if not allowed.fullmatch(char)})
    return " ".join(repr(char) for char in bad)


def _app_problem(app: str) -> str | None:
    if not app:
        return "the application name is empty"
    if not _NAME_CHARS_RE.fullmatch(app):
        return f"it contains {_bad_chars(app, _NAME_CHARS_RE)}; use only {_NAME_CHARS_HINT}"
    if len(app) > MAX_APP_NAME_LENGTH:
        return f"it is {len(app)} characters long, more than the {MAX_APP_NAME_LENGTH} Spinnaker allows"
    return None


def _stack_problem(stack: str) -> str | None:
    if stack and not _NAME_CHARS_RE.fullmatch(stack):
        return f"it contains {_bad_chars(stack, _NAME_CHARS_RE)}; use only {_NAME_CHARS_HINT}"
    return None


def _detail_problem(detail: str) -> str | None:
    if detail and not _HYPHEN_CHARS_RE.fullmatch(detail):
        return f"it contains {_bad_chars(detail, _HYPHEN_CHARS_RE)}; use only {_HYPHEN_CHARS_HINT}"
    return None


def _push_problem(part: str) -> str | None:
    if part and _CONTAINS_PUSH_RE.search(part):
        return "it cannot contain a push version such as 'v001' (that is where the sequence goes)"
    return None


def is_valid_app_name(app: str) -> bool:
    """Frigga's checkName plus Spinnaker's length limit: 1-250 of letters, digits, '.' and '_'."""
    return _app_problem(app) is None


def is_valid_stack(stack: str | None) -> bool:
    """A stack is empty, or letters, digits, '.' and '_' that do not look like a push version."""
    return stack is None or (_stack_problem(stack) is None and _push_problem(stack) is None)


def is_valid_detail(detail: str | None) -> bool:
    """A detail is empty, or Frigga's hyphenated characters with no push-version token in it."""
    return detail is None or (_detail_problem(detail) is None and _push_problem(detail) is None)


def uses_reserved_format(name: str) -> bool:
    """Frigga's usesReservedFormat: ends like a push (v000) or has a token like a labeled variable (c0)."""
    return bool(_RESERVED_PUSH_RE.fullmatch(name) or _RESERVED_LABEL_RE.fullmatch(name))


def validate_parts(app: str, stack: str | None = None, detail: str | None = None) -> None:
    """Check the parts of a name to be built, as Clouddriver does before a deploy; raise InvalidName."""
    problem = _app_problem(app)
    if problem:
        raise InvalidName("app", app, problem)
    for part, value, check in (("stack", stack, _stack_problem), ("detail", detail, _detail_problem)):
        if value:
            problem = check(value) or _push_problem(value)
            if problem:
                raise InvalidName(part, value, problem)


def _name_problem(name: str) -> InvalidName | None:
    """Explain why a name does not parse, part by part (app and stack never hold '-')."""
    if not name:
        return InvalidName("name", name, "the name is empty")
    push_match = _LOOSE_PUSH_RE.fullmatch(name)
    parts = (push_match.group(1) if push_match else name).split("-", 2)
    checks = (("app", _app_problem), ("stack", _stack_problem), ("detail", _detail_problem))
    for (part, check), value in zip(checks, parts, strict=False):
        problem = check(value)
        if problem:
            return InvalidName(part, value, problem, name)
    if not parse_name(name).is_valid:
        return InvalidName("name", name, "it does not parse as app-stack-detail-v000")
    return None


def validate_name(name: str, *, max_length: int | None = MAX_NAME_LENGTH) -> Names:
    """Check a whole cluster or server group name and return its parts; raise InvalidName naming the part."""
    problem = _name_problem(name)
    if problem:
        raise problem
    if max_length is not None and len(name) > max_length:
        raise InvalidName("name", name, f"it is {len(name)} characters long, more than {max_length}")
    return parse_name(name)


def cluster_name(app: str, stack: str | None = None, detail: str | None = None) -> str:
    """Build app, app-stack, app-stack-detail or app--detail, as Frigga's NameBuilder does."""
    validate_parts(app, stack, detail)
    if detail:
        return f"{app}-{stack or ''}-{detail}"
    if stack:
        return f"{app}-{stack}"
    return app


def _check_sequence(sequence: int) -> None:
    if not 0 <= sequence <= MAX_SEQUENCE:
        reason = f"it must be between 0 and {MAX_SEQUENCE} so that the name parses back"
        raise InvalidName("sequence", str(sequence), reason)


def server_group_name(app: str, stack: str | None, detail: str | None, sequence: int) -> str:
    """Build a server group name: the cluster name and the sequence as v000 (at least three digits)."""
    _check_sequence(sequence)
    return f"{cluster_name(app, stack, detail)}-v{sequence:03d}"


def next_sequence(existing_names: Iterable[str], *, latest: str | None = None) -> int:
    """The sequence for a cluster's next server group, following Clouddriver's name resolver.

    Clouddriver starts from the sequence of the most recently created server group plus one; pass its
    name as ``latest`` when the creation order is known, otherwise the highest sequence stands in for
    it. The start wraps from 999 to 0 and skips sequences still in use; an empty cluster starts at 0.
    """
    names = list(existing_names)
    clusters = {parsed.cluster for parsed in map(parse_name, [*names, *([latest] if latest else [])])}
    clusters.discard(None)
    if len(clusters) > 1:
        raise ValueError(f"server group names from several clusters: {', '.join(sorted(map(str, clusters)))}")
    taken = {seq for seq in (parse_name(name).sequence for name in names) if seq is not None}
    if latest is not None:
        start = _increment(parse_name(latest).sequence)
    elif names:
        start = _increment(max(taken, default=None))
    else:
        return 0
    for step in range(SEQUENCE_NAMESPACE):
        candidate = (start + step) % SEQUENCE_NAMESPACE
        if candidate not in taken:
            return candidate
    raise ValueError(f"all {SEQUENCE_NAMESPACE} server group sequences (v000-v999) are taken")


def _increment(sequence: int | None) -> int:
    # A server group without a sequence counts as v000, as in Clouddriver.
    return ((sequence or 0) + 1) % SEQUENCE_NAMESPACE


def group_by_cluster(names: Iterable[str]) -> dict[str | None, list[str]]:
    """Frigga's ClusterGrouper: names by cluster, unparsable names under None."""
    groups: dict[str | None, list[str]] = {}
    for name in names:
        groups.setdefault(parse_name(name).cluster, []).append(name)
    return groups


@dataclass(frozen=True)
class Moniker:
    """Spinnaker's moniker: the parts of a resource's name, as Clouddriver and Orca pass them around."""

    app: str
    stack: str | None = None
    detail: str | None = None
    cluster: str | None = None
    sequence: int | None = None

    @classmethod
    def from_name(cls, name: str) -> Moniker:
        """The moniker Clouddriver's Frigga namer derives from a name; raise InvalidName if it won't parse."""
        names = parse_name(name)
        if names.app is None:
            raise _name_problem(name) or InvalidName("name", name, "it does not parse")
        return cls(names.app, names.stack, names.detail, names.cluster, names.sequence)

    def to_name(self) -> str:
        """The name Clouddriver's Frigga namer gives this moniker: cluster name, then -v000 if sequenced."""
        if self.sequence is None:
            return cluster_name(self.app, self.stack, self.detail)
        return server_group_name(self.app, self.stack, self.detail, self.sequence)

    def to_json(self) -> dict[str, str | int]:
        """Spinnaker's moniker JSON, leaving out the parts that are None."""
        fields: dict[str, str | int | None] = {
            "app": self.app,
            "stack": self.stack,
            "detail": self.detail,
            "cluster": self.cluster,
            "sequence": self.sequence,
        }
        return {key: value for key, value in fields.items() if value is not None}
