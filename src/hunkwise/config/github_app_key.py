"""The GitHub App's private key, read and checked once at start-up (``HUNKWISE_GITHUB_APP_PRIVATE_KEY``).

Apart from :mod:`hunkwise.config.settings` because it needs ``cryptography``, which only the
server and worker extras install (the CLI never runs as an App): settings imports this module
only when the variable is set, and a CLI-only install that sets it is told which extra to add.
"""

from __future__ import annotations

import re
from pathlib import Path

from hunkwise.errors import ConfigurationError

_PEM_BEGIN = "-----BEGIN"
_KEYISH = re.compile(r"[A-Za-z0-9+=]{40,}")  # a run of base64: key material, not a file name


def _shown_path(text: str) -> str:
    """The value as a path in a message, unless it looks like key material without its PEM lines
    (the body alone, or a base64-encoded PEM), which is never printed back."""
    if _KEYISH.search(text):
        return "(the value is not a file's path: it looks like key material without its PEM lines)"
    return repr(text[:200])


def app_private_key_pem(value: str, setting: str) -> str:
    """The PEM text of ``HUNKWISE_GITHUB_APP_PRIVATE_KEY`` (the PEM itself, or a file's path),
    checked to be an RSA private key, so a wrong value fails at start-up with the variable's
    name, not at the first pull request. The key is never put in a message."""
    text = value.strip()
    if _PEM_BEGIN not in text:
        path = Path(text).expanduser()
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
            raise ConfigurationError(
                f"{setting}: cannot read the private key file {_shown_path(text)} ({reason}); "
                "set it to the path of the .pem file GitHub gave you (App settings > Private keys), "
                "or to the PEM text itself, -----BEGIN line included",
                setting=setting,
            ) from None
    text = text.replace("\\n", "\n").strip()  # a PEM pasted into one line of an env file
    try:
        from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
        from cryptography.hazmat.primitives.serialization import load_pem_private_key
    except ImportError:
        raise ConfigurationError(
            f"{setting} needs the 'cryptography' package (GitHub App mode runs in hunkwise serve and "
            "hunkwise worker): pip install 'hunkwise[server]'",
            setting=setting,
        ) from None
    try:
        key = load_pem_private_key(text.encode(), password=None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, RSAPrivateKey):
        raise ConfigurationError(
            f"{setting} is not an unencrypted RSA private key in PEM form "
            "(-----BEGIN RSA PRIVATE KEY----- ...); use the .pem file GitHub generated for the App",
            setting=setting,
        )
    return text
