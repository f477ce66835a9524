"""Policies: named rules checked when a pipeline or template is saved, when an execution starts
and before each stage starts (CEL built in; OPA over its Data API). See docs/policies.md."""
