"""orgsync's AWS CDK app: the aggregator, the organization reader and the member-role StackSet."""
