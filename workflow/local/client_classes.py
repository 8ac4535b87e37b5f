"""One botocore client class per service and session, made once while the local substrate runs.

botocore builds a new class for every client it makes: a function per operation of the service (SSM has about
150), each with its docstring object, then ``type(...)``. orgsync needs one SSM client per member account and
region, each with its own credentials, so a local rollout of 20,000 account-regions spent about a third of its
time building identical classes. The class depends only on the service's model and the session's
``creating-client-class`` handlers, never on the region, the credentials or the config (those are the instance's:
``client.meta``, its signer and its own copy of the event emitter), so :func:`cached_client_classes` keeps the
first class it made for each service and session's emitter and hands it to later clients.

This changes no answer and no modelled figure (the model does not charge a handler's CPU); it only makes the
local runs cheaper, as the local substrate's other caches do.

Example::

    >>> made = []
    >>> def create_client_class(creator, service_name, service_model):
    ...     made.append(service_name)
    ...     return type(service_name.upper(), (), {})
    >>> class Model:
    ...     _service_description = {"metadata": {}}
    >>> class Creator:
    ...     _event_emitter = object()
    >>> cached = cached_client_classes(create_client_class)
    >>> cached(Creator(), "ssm", Model()) is cached(Creator(), "ssm", Model()), made
    (True, ['ssm'])
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

#: botocore's ``ClientCreator._create_client_class(self, service_name, service_model)``.
CreateClientClass = Callable[[Any, str, Any], type]


def cached_client_classes(create_client_class: CreateClientClass) -> CreateClientClass:
    """``create_client_class`` that makes each class once per (emitter, service, service description).

    The emitter is the session's (a session whose handlers differ gets its own classes) and the description is
    the loaded model (the loader caches it per session: another API version or model file is another key). Both
    are held by the cache, so their identities are not reused while it lives.
    """
    classes: dict[tuple[int, str, int], tuple[type, Any, Any]] = {}
    lock = threading.Lock()

    @functools.wraps(create_client_class)  # botocore's signature, which the seam check reads while installed
    def create(creator: Any, service_name: str, service_model: Any) -> type:
        emitter, description = creator._event_emitter, service_model._service_description
        key = (id(emitter), service_name, id(description))
        with lock:
            cached = classes.get(key)
            if cached is None:
                made = create_client_class(creator, service_name, service_model)
                cached = classes[key] = (made, emitter, description)
        return cached[0]

    return create
