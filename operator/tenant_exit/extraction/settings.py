"""Configuration of a run Job: one typed object from `TENANT_EXIT_*` variables.

The operator's Job builder (extraction/jobs.py) sets exactly these. The database
password and the pseudonymisation key are `SecretStr` (masked in repr/str) and
come from Secrets; S3 credentials are read by boto3 from AWS_* variables.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from tenant_exit.api.datamodel import DataModelSpec


class ExtractionSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TENANT_EXIT_", extra="ignore",
                                      use_attribute_docstrings=True)

    extraction_name: Annotated[str, Field(min_length=1, max_length=253)]
    """TENANT_EXIT_EXTRACTION_NAME: the TenantExtraction."""
    scheduled_at: datetime
    """TENANT_EXIT_SCHEDULED_AT: the schedule time this run is for (names its folder)."""
    model_name: str
    """TENANT_EXIT_MODEL_NAME: the DataModel's name."""
    model: DataModelSpec
    """TENANT_EXIT_MODEL: the pinned DataModel spec as JSON."""

    db_host: Annotated[str, Field(min_length=1)]
    db_port: Annotated[int, Field(ge=1, le=65535)] = 3306
    db_user: Annotated[str, Field(min_length=1)]
    db_password: SecretStr
    db_schema: Annotated[str, Field(min_length=1)]
    """TENANT_EXIT_DB_SCHEMA: the one schema the model's SELECTs read."""

    s3_bucket: str
    s3_prefix: str = ""
    s3_endpoint: str | None = None
    s3_region: str | None = None
    age_recipients: list[str] = []
    """TENANT_EXIT_AGE_RECIPIENTS: JSON list; empty = table files not encrypted."""

    pseudonym_key: SecretStr
    """TENANT_EXIT_PSEUDONYM_KEY: the key of `key_version` (from a Secret)."""
    key_version: Annotated[int, Field(ge=1)] = 1

    retention: Annotated[int, Field(ge=1)] = 7
    csv: bool = False
    rows_per_group: Annotated[int, Field(ge=1)] = 50_000
    """TENANT_EXIT_ROWS_PER_GROUP: rows per Parquet row group (the memory bound)."""
    termination_log: Path = Path("/dev/termination-log")
