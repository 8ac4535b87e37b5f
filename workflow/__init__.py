"""orgsync's workflow: the state machine definition, the local engine that runs it, and the CLI."""
