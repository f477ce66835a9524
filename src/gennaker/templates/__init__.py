"""Pipeline templates, MPT v2: templated pipelines planned into ordinary pipelines (Orca's
``pipelinetemplate`` v2 support). See docs/templates.md."""
