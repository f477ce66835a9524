"""Role providers: where a user's roles come from (the config file, LDAP, OpenID Connect claims)."""
