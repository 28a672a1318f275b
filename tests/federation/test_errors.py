"""Federation has one error root: every exception class in ``federation/`` derives from
``FederationError`` and carries a code and an HTTP status, and the node answers them
as JSON in its one error mapper."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import federation
from federation.errors import FederationError
from federation.netguard import BlockedAddress
from federation.nonces import NonceCapacityError
from node.middlewares import error_response


def _exception_classes() -> dict[str, type[BaseException]]:
    found = {}
    for info in pkgutil.iter_modules(federation.__path__):
        module = importlib.import_module(f"federation.{info.name}")
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException)
                    and value.__module__ == module.__name__):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_every_federation_exception_derives_from_one_root() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15, sorted(classes)  # the walk sees them
    assert [n for n, c in classes.items() if not issubclass(c, FederationError)] == []
    for name, cls in classes.items():
        assert cls.code.isupper() and 400 <= cls.status < 600, name


def test_an_os_level_refusal_is_still_an_os_error_for_aiohttp() -> None:
    refused = BlockedAddress("peer.test", "10.0.0.1")
    assert isinstance(refused, OSError) and isinstance(refused, FederationError)
    assert (refused.code, refused.status) == ("ADDRESS_BLOCKED", 502)


def test_the_error_mapper_answers_a_federation_error_with_its_status_and_code() -> None:
    response = error_response(NonceCapacityError("replay cache full"))
    assert response.status == 429 and response.headers["Retry-After"] == "1"
    assert response.text is not None and '"code": "NONCE_CACHE_FULL"' in response.text
