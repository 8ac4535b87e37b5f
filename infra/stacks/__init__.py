"""One stack per account role: the aggregator (bucket account), the organization reader, the member role."""
