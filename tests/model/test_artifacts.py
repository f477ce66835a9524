"""Expected-artifact matching and resolution, after kork's ExpectedArtifactTest and Orca's
ArtifactResolverTest / ArtifactUtilsSpec cases."""

from __future__ import annotations

import pytest

from gennaker.errors import InvalidInput
from gennaker.model.artifacts import ArtifactResolver, artifact_matches, resolve_at_start, with_match_account

IMAGE = {"type": "docker/image", "name": "reg/app", "version": "1.2", "reference": "reg/app:1.2"}


@pytest.mark.parametrize(
    ("match", "fits"),
    [
        ({}, True),
        ({"type": "docker/image"}, True),
        ({"type": "docker/.*"}, True),
        ({"type": "docker"}, False),  # a full match, not a search
        ({"name": "reg/app", "version": "1\\.2"}, True),
        ({"name": "reg/app", "version": "2"}, False),
        ({"reference": "reg/app:1.2"}, True),
        ({"location": "ns"}, False),  # the artifact has no location
        ({"type": "docker/image", "artifactAccount": "other"}, True),  # accounts are not compared
    ],
)
def test_match_fields(match: dict[str, str], fits: bool) -> None:
    assert artifact_matches(match, IMAGE) is fits


def test_base64_references_match_themselves_and_embedded_matches_remote() -> None:
    reference = "a+b+c=="  # '+' means "one or more" to a regex; equality comes first
    embedded = {"type": "embedded/base64", "reference": reference}
    assert artifact_matches({"type": "remote/base64", "reference": reference}, embedded)
    assert artifact_matches({"type": "embedded/base64"}, {"type": "remote/base64"})


def test_the_current_artifact_wins_then_prior_then_default() -> None:
    entry = {
        "id": "img",
        "matchArtifact": {"type": "docker/image"},
        "usePriorArtifact": True,
        "useDefaultArtifact": True,
        "defaultArtifact": {"type": "docker/image", "name": "default"},
    }
    prior = [{"type": "docker/image", "name": "prior"}]
    assert ArtifactResolver([IMAGE], lambda: prior, require_unique=True).resolve([entry]).artifacts == [IMAGE]
    assert ArtifactResolver([], lambda: prior, require_unique=True).resolve([entry]).artifacts == prior
    assert ArtifactResolver([], list, require_unique=True).resolve([entry]).artifacts == [
        {"type": "docker/image", "name": "default"}
    ]


def test_prior_artifacts_are_only_read_when_needed() -> None:
    def prior() -> list[dict[str, str]]:
        raise AssertionError("the prior execution was read")

    entry = {"id": "img", "matchArtifact": {"type": "docker/image"}, "usePriorArtifact": True}
    assert (
        ArtifactResolver([IMAGE], prior, require_unique=True).resolve([entry]).expected[0]["boundArtifact"]
        == IMAGE
    )


def test_unmatched_and_ambiguous_expected_artifacts_are_named() -> None:
    entry = {"id": "img", "displayName": "app image", "matchArtifact": {"type": "docker/image"}}
    with pytest.raises(InvalidInput) as unmatched:
        ArtifactResolver([], require_unique=True).resolve([entry])
    assert unmatched.value.errors[0].path == "$.expectedArtifacts[0]"
    assert "Unmatched expected artifact 'app image' could not be resolved" in unmatched.value.message
    other = {**IMAGE, "version": "1.3", "reference": "reg/app:1.3"}
    with pytest.raises(InvalidInput, match="'app image' matches multiple artifacts"):
        ArtifactResolver([IMAGE, other], require_unique=True).resolve([entry])
    # A stage's binding takes the first match.
    assert ArtifactResolver([IMAGE, other], require_unique=False).resolve([entry]).artifacts == [IMAGE]


def test_at_start_only_named_or_fallback_expected_artifacts_are_resolved() -> None:
    named = {"id": "a", "matchArtifact": {"type": "docker/image"}}
    unnamed = {"id": "b", "matchArtifact": {"type": "helm/chart"}}  # neither named nor with a fallback
    trigger = {"type": "docker", "expectedArtifactIds": ["a"], "artifacts": [IMAGE]}
    artifacts, resolved = resolve_at_start([named, unnamed], trigger)
    assert [r["id"] for r in resolved] == ["a"] and artifacts == [IMAGE]
    # A manual start without expectedArtifactIds expects every one.
    with pytest.raises(InvalidInput, match=r"\$.expectedArtifacts\[1\]"):
        resolve_at_start([named, unnamed], {"type": "manual", "artifacts": [IMAGE]})


def test_defaults_join_the_trigger_artifacts() -> None:
    entry = {
        "id": "m",
        "matchArtifact": {"type": "embedded/base64"},
        "useDefaultArtifact": True,
        "defaultArtifact": {"type": "embedded/base64", "reference": "eA=="},
    }
    artifacts, _ = resolve_at_start(
        [entry], {"type": "webhook", "receivedArtifacts": [IMAGE], "artifacts": [IMAGE]}
    )
    assert artifacts == [IMAGE, {"type": "embedded/base64", "reference": "eA=="}]


def test_bound_artifact_takes_the_match_account_when_blank() -> None:
    entry = {"matchArtifact": {"artifactAccount": "repos"}, "boundArtifact": {"type": "git/repo"}}
    assert with_match_account(entry) == {"type": "git/repo", "artifactAccount": "repos"}
    own = {"matchArtifact": {"artifactAccount": "repos"}, "boundArtifact": {"artifactAccount": "mine"}}
    assert with_match_account(own) == {"artifactAccount": "mine"}
