"""Authorization (Spinnaker's Fiat): who may see an application, change its pipelines, run them and
deploy to an account. Roles come from role providers (the config file, LDAP, OpenID Connect sign-in),
are cached with a TTL, and are evaluated against the ``permissions`` of applications and accounts."""
