"""orgsync's Lambda task handlers: thin handlers over plain functions that take their clients as arguments."""
