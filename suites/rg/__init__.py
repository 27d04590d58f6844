"""reasoning-gym suites: `rg:<task>[:key=value,...]`, one suite per task of the installed reasoning-gym.

`catalog` knows the installed tasks, their config fields and curriculum levels (imported lazily: discovery
never imports reasoning-gym); `params` parses a suite name into a config and spells the canonical name;
`generate` makes the entries under a fixed hash seed; `suite` registers the `rg` family.
"""
