"""Where the PostgreSQL engine gets its TLS settings: libpq's ``sslmode`` in, asyncpg's ``ssl`` out.

asyncpg 0.32 reads its ``ssl`` argument in two ways (``asyncpg/connect_utils.py``):

- a mode *string* keeps libpq's fallbacks: ``prefer`` retries in plaintext when TLS fails,
  ``allow`` tries plaintext first;
- an ``SSLContext`` is always taken as ``sslmode=require``: TLS or no connection at all.

So a mode string is passed on while it says everything that was asked for, and a context is
built as soon as certificates are involved.
"""

import ssl
from pathlib import Path

__all__ = ("SSL_MODES", "SYSTEM_ROOTCERT", "ssl_for")

SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
"""libpq's ``sslmode`` values, weakest first."""

SYSTEM_ROOTCERT = "system"
"""``sslrootcert=system``: trust the operating system's CA store, as libpq 16+ does."""


def ssl_for(
    mode: str,
    *,
    rootcert: str | None,
    cert: str | None,
    key: str | None,
    crl: str | None = None,
) -> ssl.SSLContext | str | bool:
    """Return the ``ssl`` argument for ``asyncpg.connect()`` that gives libpq's ``sslmode``.

    Raises:
        ValueError: On a mode or file combination libpq would refuse, or a file that cannot be
            loaded. The message is one line naming the parameter and path.
    """
    if mode not in SSL_MODES:
        raise ValueError(f"sslmode {mode!r} is not supported; accepted: {', '.join(SSL_MODES)}")
    if rootcert == SYSTEM_ROOTCERT and mode != "verify-full":
        # As libpq: the public CA store proves nothing unless the host name is checked too.
        raise ValueError(f"sslrootcert=system needs sslmode=verify-full, not sslmode={mode}")
    if mode == "disable":
        return False
    if key is not None and cert is None:
        raise ValueError("sslkey needs sslcert, the client certificate the key belongs to")
    if mode in {"allow", "prefer"} and rootcert is None and cert is None:
        return mode
    # From here on it is a context, which asyncpg treats as sslmode=require. For allow/prefer
    # with certificates that makes TLS mandatory: stricter than libpq's fallback, never weaker,
    # and whoever supplies certificates expects TLS (the server may demand the client one).
    if mode in {"verify-ca", "verify-full"} and rootcert is None:
        rootcert = _home_rootcert()
        if rootcert is None:
            system = " (or sslrootcert=system for the OS trust store)"
            hint = system if mode == "verify-full" else ""
            raise ValueError(f"sslmode={mode} needs sslrootcert=<path to the CA>{hint}")

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = mode == "verify-full"
    if rootcert is None:
        # No CA (require, or allow/prefer with only a client certificate): encrypted but
        # unauthenticated, as libpq.
        context.verify_mode = ssl.CERT_NONE
        if crl is not None:
            raise ValueError("sslcrl needs sslrootcert: revocation is only checked when verifying")
    elif rootcert == SYSTEM_ROOTCERT:
        context.load_default_certs()
    else:
        # libpq verifies against a CA whenever one is given, which makes require + sslrootcert
        # behave as verify-ca.
        _load_verify_locations(context, "sslrootcert", rootcert)
    if crl is not None:
        _load_verify_locations(context, "sslcrl", crl)
        context.verify_flags |= ssl.VERIFY_CRL_CHECK_CHAIN
    if cert is not None:
        _load_client_certificate(context, cert, key)
    return context


def _home_rootcert() -> str | None:
    """libpq's fallback CA for the verify modes: ``~/.postgresql/root.crt``, if it exists."""
    try:
        path = Path.home() / ".postgresql" / "root.crt"
    except RuntimeError:  # no home directory, as for some container users
        return None
    return str(path) if path.is_file() else None


def _load_verify_locations(context: ssl.SSLContext, parameter: str, path: str) -> None:
    _require_file(parameter, path)
    try:
        context.load_verify_locations(cafile=path)
    except OSError as error:  # ssl.SSLError included
        raise ValueError(f"{parameter} file {path!r} could not be loaded: {error}") from None


def _load_client_certificate(context: ssl.SSLContext, cert: str, key: str | None) -> None:
    _require_file("sslcert", cert)
    if key is not None:
        _require_file("sslkey", key)
    try:
        # An explicit empty password: without one OpenSSL prompts on the terminal for an
        # encrypted key and start-up hangs; this way such a key fails to load instead.
        context.load_cert_chain(cert, keyfile=key, password="")
    except OSError as error:
        raise ValueError(f"sslcert {cert!r} or its key could not be loaded: {error}") from None


def _require_file(parameter: str, path: str) -> None:
    if not Path(path).is_file():
        raise ValueError(f"{parameter} file {path!r} does not exist")
