"""`kubectl tenantexit certificate`: fetch the certificate of destruction from
the bucket (with the destination's credentials, which an authorised user may
read) and check its Ed25519 signature and that it names the exit's manifest."""

from __future__ import annotations

import base64
import json
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from kubernetes import client

from tenant_exit.plugin.effective import effective_spec
from tenant_exit.storage.multipart import describe_error
from tenant_exit.storage.s3client import make_client
from tenant_exit.storage.signing import check_artefact, signature_key


def _object(s3: Any, bucket: str, key: str) -> bytes | None:
    try:
        return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
            return None
        raise


def fetch_and_verify(exit: dict[str, Any], core: client.CoreV1Api,
                     endpoint_url: str | None) -> dict[str, Any]:
    status = exit.get("status") or {}
    deletion, backup = status.get("deletion") or {}, status.get("backup") or {}
    key = deletion.get("certificateObject")
    if not key:
        return {"verified": False, "keyId": None, "summary": "no certificate yet (phase "
                f"{status.get('phase')})", "problem": "the exit is not Deleted"}
    # The class's bucket when the exit names none (status.policy).
    s3spec = effective_spec(exit)["destination"]["s3"]
    ref = s3spec["credentialsSecret"]
    data = core.read_namespaced_secret(ref["name"], ref["namespace"]).data or {}
    s3 = make_client(endpoint_url=endpoint_url or s3spec.get("endpoint"),
                     region=s3spec.get("region"),
                     aws_access_key_id=base64.b64decode(data["accessKeyId"]).decode(),
                     aws_secret_access_key=base64.b64decode(data["secretAccessKey"]).decode())
    try:
        body = _object(s3, s3spec["bucket"], key)
        signature = _object(s3, s3spec["bucket"], signature_key(key))
    except (ClientError, BotoCoreError) as error:
        return {"verified": False, "keyId": None, "summary": f"cannot read {key}",
                "problem": describe_error(error)}
    trusted = [backup["signingKey"]] if backup.get("signingKey") else []
    check = check_artefact(key, body, signature, trusted)
    problem = check.problem
    summary = deletion.get("certificate") or key
    if check.ok and body is not None:
        certificate = json.loads(body)
        if certificate["backup"]["manifestSha256"] != backup.get("manifestSha256"):
            problem = "the certificate names another manifest than the exit's"
        summary = (f"{certificate['exitName']}: namespace {certificate['namespace']['name']} "
                   f"(uid {certificate['namespace']['uid']}), {len(certificate['volumes'])} "
                   f"volume(s), {len(certificate['databases'])} schema(s) destroyed at "
                   f"{certificate['deletionCompletedAt']}")
        if certificate.get("request"):
            summary += f"; requested in {certificate['request']['ticket']}"
    return {"verified": check.ok and problem is None, "keyId": check.key_id,
            "object": key, "summary": summary, "problem": problem}
