"""The CLI's Alibaba Cloud credentials: the official `alibabacloud-credentials` default chain when the `cli`
extra is installed (`pip install 'ecs-tasks[cli]'`), else the functions' own reading (shared.ecs.credentials:
the environment, then the aliyun CLI's AK and StsToken profiles).

The official chain covers every profile mode: environment variables, OIDC (ALIBABA_CLOUD_ROLE_ARN,
ALIBABA_CLOUD_OIDC_*), the aliyun CLI's `~/.aliyun/config.json` (AK, StsToken, RamRoleArn, EcsRamRole,
ChainableRamRoleArn, CloudSSO, ...), `~/.alibabacloud/credentials.ini`, the ECS instance's RAM role, and a
credentials URI (ALIBABA_CLOUD_CREDENTIALS_URI). It is for people at a terminal: the deployed functions never
load it (they read the variables Function Compute sets), and the package carries no official SDK.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shared.ecs.credentials import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    Credentials,
    CredentialsProvider,
    DefaultCredentialsProvider,
)
from shared.errors import CredentialsNotFoundError
from shared.log import redact

if TYPE_CHECKING:
    from alibabacloud_credentials.client import Client

SOURCE_PREFIX = "alibabacloud-credentials"
WHERE_IT_LOOKS = (
    "the official credentials chain looked in ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET "
    "(and ALIBABA_CLOUD_SECURITY_TOKEN), OIDC (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, "
    "ALIBABA_CLOUD_OIDC_TOKEN_FILE), ~/.aliyun/config.json (profile ALIBABA_CLOUD_PROFILE, else its current "
    "one), ~/.alibabacloud/credentials.ini, the ECS instance's RAM role and ALIBABA_CLOUD_CREDENTIALS_URI"
)
_SHOWN_REASON = 600
# The SDK's logger, with a stderr handler of its own: it logs each source that fails with its traceback, which
# a terminal would show even when a source further on answers. The CLI reports a chain that finds none itself,
# in one line with the chain's reasons.
SDK_LOGGER = "credentials"


class OfficialChainCredentialsProvider:
    """Credentials from `alibabacloud_credentials`' default chain, which caches and refreshes them itself."""

    def __init__(self, client: Client | None = None) -> None:
        self._client = client

    def get(self) -> Credentials:
        from alibabacloud_credentials.exceptions import CredentialException

        try:
            if self._client is None:
                from alibabacloud_credentials.client import Client

                logging.getLogger(SDK_LOGGER).disabled = True
                self._client = Client()
            model: Any = self._client.get_credential()
        except (CredentialException, OSError, ValueError) as error:
            reason = redact(str(error))[:_SHOWN_REASON]
            raise CredentialsNotFoundError(f"No Alibaba Cloud credentials: {WHERE_IT_LOOKS}. ({reason})") from None
        token = model.get_security_token() or None
        name = model.get_provider_name() or "default"
        return Credentials(
            model.get_access_key_id(), model.get_access_key_secret(), token, source=f"{SOURCE_PREFIX}:{name}"
        )

    def __repr__(self) -> str:
        return "OfficialChainCredentialsProvider()"


def cli_credentials(environ: Mapping[str, str] | None = None) -> CredentialsProvider:
    """The official chain when the `cli` extra is installed, else the functions' own reading. Keys in the
    environment are the chain's first source: they are read as the functions read them (the same variables,
    at every call), which spares a terminal command the SDK's import (most of a second)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_ACCESS_KEY_ID) and env.get(ENV_ACCESS_KEY_SECRET):
        return DefaultCredentialsProvider()
    try:
        import alibabacloud_credentials.client  # noqa: F401 - only whether it is installed
    except ImportError:
        return DefaultCredentialsProvider()
    return OfficialChainCredentialsProvider()
