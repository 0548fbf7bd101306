"""`tenant-exit public-key`: the platform engineer's view of the signing key.

Prints the active public key (what customers pass to `tenant-exit verify
--public-key`), or every published one with `--all`, or rotates with
`--rotate`. Uses the current kubeconfig; never prints the private key.
"""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from kubernetes import client, config

from tenant_exit.kube import signing_key
from tenant_exit.kube.errors import describe
from tenant_exit.reconcile.backup_store import new_signing_key
from tenant_exit.settings import OperatorSettings


def run_public_key(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    namespace = args.namespace or OperatorSettings().operator_namespace
    try:
        config.load_kube_config()
        core = client.CoreV1Api()
        if args.rotate:
            rotated = signing_key.rotate_signing_key(core, namespace, new_signing_key)
            out.write(f"new active key {rotated.key_id}: {rotated.public_key}\n")
            return 0
        keys = signing_key.published_keys(core, namespace)
    except client.ApiException as error:
        sys.stderr.write(f"cannot read Secret {namespace}/{signing_key.SECRET_NAME}: "
                         f"Kubernetes API answered {describe(error)}\n")
        return 2
    except (LookupError, config.ConfigException) as error:
        sys.stderr.write(f"{error}\n")
        return 2
    for key in keys if args.all else keys[-1:]:
        out.write(key + "\n")
    return 0
