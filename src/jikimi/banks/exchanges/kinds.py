"""The kinds of exchange, each a factory from an exchange's settings and credentials to an
adapter (:class:`~jikimi.banks.exchanges.pages.ExchangeAdapter`). Built on demand by
:func:`build_registry`; threatexchange is imported only when its kind is used, so the URL list
works without it and the others say what to install."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from jikimi.banks.exchanges.credentials import CredentialField, Secret
from jikimi.banks.exchanges.pages import ExchangeAdapter
from jikimi.errors import ExchangeError, ExchangeUnavailable

Factory = Callable[[str, Mapping[str, Any], Mapping[str, Secret]], ExchangeAdapter]


@dataclass(frozen=True, slots=True)
class ExchangeKind:
    name: str
    description: str
    build: Factory
    credentials: tuple[CredentialField, ...] = ()
    settings: frozenset[str] = frozenset()  # what it takes: url, path, environment
    minors: bool = False  # its banks hold child sexual abuse material (child_safety queue)
    needs: str = ""  # what it requires: "path", "url or path"


def _threatexchange(module: str) -> Any:
    try:
        return importlib.import_module(f"jikimi.banks.exchanges.{module}")
    except ImportError as exc:
        if "threatexchange" not in str(exc):
            raise
        raise ExchangeUnavailable(
            "this exchange kind needs threatexchange: pip install 'jikimi[exchanges]'"
        ) from None


def _stopncii(name: str, config: Mapping[str, Any], creds: Mapping[str, Secret]) -> Any:
    module = _threatexchange("stopncii")
    return module.StopNCIIExchange(name, base_url=config.get("url"), credentials=creds)


def _ncmec(name: str, config: Mapping[str, Any], creds: Mapping[str, Secret]) -> Any:
    module = _threatexchange("ncmec")
    return module.NCMECExchange(
        name,
        environment_name=config.get("environment") or NCMEC_DEFAULT_ENVIRONMENT,
        base_url=config.get("url"),
        credentials=creds,
    )


def _file(name: str, config: Mapping[str, Any], creds: Mapping[str, Secret]) -> Any:
    return _threatexchange("local_file").LocalFileExchange(name, path=config["path"])


def _url_list(name: str, config: Mapping[str, Any], creds: Mapping[str, Secret]) -> Any:
    from jikimi.banks.exchanges.url_list import UrlListExchange

    return UrlListExchange(
        name, url=config.get("url"), path=config.get("path"), token=creds.get("bearer_token")
    )


# Duplicated from threatexchange (kept in step by a test) so that listing kinds needs no import.
NCMEC_DEFAULT_ENVIRONMENT = "NGO_Generative_AI"
NCMEC_ENVIRONMENTS = (
    "Industry",
    "Industry_Exploitative",
    "LawEnforcement",
    "NGO",
    "Exploitative",
    "NGO_Generative_AI",
    "NGO_Generative_AI_Exploitative",
    "test_Industry",
    "test_Industry_Exploitative",
    "test_LawEnforcement",
    "test_NGO",
    "test_Exploitative",
    "test_NGO_Generative_AI",
    "test_NGO_Generative_AI_Exploitative",
)


def build_registry() -> dict[str, ExchangeKind]:
    kinds = (
        ExchangeKind(
            "stopncii",
            "StopNCII.org hashes submitted by people (FetchHashes); --url overrides the API",
            _stopncii,
            (
                CredentialField("subscription_key", "Azure API Management subscription key"),
                CredentialField("fetch_function_key", "function key of FetchHashes"),
            ),
            frozenset({"url"}),
        ),
        ExchangeKind(
            "ncmec",
            "NCMEC hash sharing; --environment (default NGO_Generative_AI), --url overrides",
            _ncmec,
            (
                CredentialField("user", "hash sharing API user name"),
                CredentialField("password", "hash sharing API password"),
            ),
            frozenset({"url", "environment"}),
            minors=True,
        ),
        ExchangeKind(
            "file",
            "threatexchange's local file exchange: '<signal_type> <value>' lines at --path",
            _file,
            settings=frozenset({"path"}),
            needs="path",
        ),
        ExchangeKind(
            "url_list",
            "a '<signal_type> <value>' list at --url (http/https) or --path",
            _url_list,
            (CredentialField("bearer_token", "sent as 'Authorization: Bearer'", required=False),),
            frozenset({"url", "path"}),
            needs="url or path",
        ),
    )
    return {k.name: k for k in kinds}


def validate_config(kind: ExchangeKind, config: Mapping[str, Any]) -> None:
    """Refuse settings the kind cannot run with, before anything is stored."""
    for key, value in config.items():
        if value is not None and key not in kind.settings:
            raise ExchangeError(f"a {kind.name} exchange takes no --{key}")
    url, path = config.get("url"), config.get("path")
    if url and not str(url).startswith(("http://", "https://")):
        raise ExchangeError(f"--url {url!r} must start with http:// or https://")
    if kind.needs == "path" and not path:
        raise ExchangeError(f"a {kind.name} exchange needs --path")
    if kind.needs == "url or path" and bool(url) == bool(path):
        raise ExchangeError(f"a {kind.name} exchange needs --url or --path (one of them)")
    env = config.get("environment")
    if env is not None and env not in NCMEC_ENVIRONMENTS:
        raise ExchangeError(
            f"unknown NCMEC environment {env!r}; use one of: {', '.join(NCMEC_ENVIRONMENTS)}"
        )
