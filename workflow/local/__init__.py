"""The local AWS substrate: a simulated organization, SSM resource data sync emulation, and moto's Step Functions
engine running orgsync's real state machine and Lambda handlers in-process, on a virtual clock."""
