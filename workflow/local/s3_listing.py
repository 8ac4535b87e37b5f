"""A prefixed S3 listing that reads only the objects under its prefix, as S3's own index does.

moto 5.2.5's ``S3Backend.list_objects`` (which ``ListObjectsV2`` calls too) walks every object of the bucket and
reads each one's version list before it compares the object's name with the prefix. The marker check lists one
exact key per account, so a rollout over N accounts read O(N^2) objects: at 20,000 account-regions that was a
third of the local run. :func:`prefix_listing` wraps it: a listing with a prefix hands moto a view of the bucket
whose keys are filtered by name first, and moto applies its own rules (delimiter, delete markers, order, marker,
MaxKeys) to what is left, so every answer is moto's, only cheaper to reach.

Example::

    >>> calls = []
    >>> def moto_list(backend, bucket, prefix, delimiter, marker, max_keys):
    ...     calls.append(sorted(name for name, _ in bucket.keys.items()))
    >>> class Bucket:  # a FakeBucket's ``keys`` is a dict of names to objects
    ...     keys = {"a/1": 1, "a/2": 2, "b/1": 3}
    >>> prefix_listing(moto_list, bucket_type=Bucket)(None, Bucket(), "a/", None, None, None)
    >>> calls
    [['a/1', 'a/2']]
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

#: moto's ``S3Backend.list_objects(self, bucket, prefix, delimiter, marker, max_keys)``.
ListObjects = Callable[[Any, Any, str | None, str | None, str | None, int | None], Any]


class _KeysUnder:
    """A bucket's key store as ``list_objects`` reads it (``.items()``), holding only the names under a prefix.

    The names are read from the store as a plain dict (no version list is touched); only the matching ones are
    then read through the store's own ``__getitem__`` (their latest version, as moto's ``items()`` gives).
    """

    def __init__(self, store: Any, prefix: str) -> None:
        self._store = store
        self._prefix = prefix

    def items(self) -> Iterator[tuple[str, Any]]:
        # A copy of the names, as moto's own iteration takes one: the store may change while the listing runs.
        names = [name for name in list(dict.keys(self._store)) if name.startswith(self._prefix)]
        return iter([(name, self._store[name]) for name in names])


class _BucketUnder:
    """The bucket, its keys seen through :class:`_KeysUnder`; every other attribute is the bucket's."""

    def __init__(self, bucket: Any, prefix: str) -> None:
        self.keys = _KeysUnder(bucket.keys, prefix)
        self._bucket = bucket

    def __getattr__(self, name: str) -> Any:
        return getattr(self._bucket, name)


def prefix_listing(list_objects: ListObjects, bucket_type: type) -> ListObjects:
    """``list_objects`` that filters the bucket's names by ``prefix`` before moto reads any object.

    Only a bucket of exactly ``bucket_type`` (moto's ``FakeBucket``) is given the view: a subclass (S3 Tables'
    storage bucket, which refuses listings) reaches moto as it is, as does a listing without a prefix.
    """

    @functools.wraps(list_objects)  # moto's signature, which the seam check reads while the wrapper is installed
    def listing(
        backend: Any, bucket: Any, prefix: str | None, delimiter: str | None, marker: str | None, max_keys: int | None
    ) -> Any:
        if prefix and type(bucket) is bucket_type:
            bucket = _BucketUnder(bucket, prefix)
        return list_objects(backend, bucket, prefix, delimiter, marker, max_keys)

    return listing
