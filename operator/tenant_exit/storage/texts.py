"""The catalogue of texts the customer reads, one `Texts` per language.

The customers are Dutch care organisations whose IT staff may not know
Kubernetes; README.txt beside the backup (with the receipt procedure) and the
human summary in the certificate of destruction exist in Dutch and English.
The wording lives in texts_en / texts_nl only; renderers fill in the facts.
Templates use `str.format` fields, listed on each attribute.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Texts:
    language: str
    readme_title: str
    """First line of README.txt: {exit_name}."""
    readme: str
    """README.txt: {title} {underline} {tables} {rows} {files} {objects} {request}
    {excluded} {where} {public_key} {manifest_sha256} {classical_note} {manifest_key}
    {completed_at}."""
    readme_where_unknown: str
    """Download location when the bucket is not known."""
    readme_request: str
    """The request section of README.txt: {ticket} {requested_by} {requested_at}."""
    readme_no_request: str
    """The request section when spec.request was not set."""
    excluded_tables: str
    """One line: {patterns} {reason}."""
    excluded_table: str
    """One excluded table, under `excluded_tables`: {schema} {table} {rows} {pattern}."""
    excluded_table_no_rows: str
    """An excluded view or sequence (no rows): {schema} {table} {pattern}."""
    excluded_files: str
    """One line: {claim} {patterns} {reason}."""
    excluded_nothing: str
    classical_note: str
    """Added to the decrypt step when no recipient is post-quantum."""
    restore_verified: str
    """The restore verification section when it passed: {tables} {rows} {definitions}
    {scratch}."""
    restore_unknown: str
    """The section when the proof was impossible: {reason}."""
    restore_off: str
    """The section when it was switched off: {off_reason}."""
    retention_note: str
    """The Object Lock section when the bucket has it: {mode} {retain_until}."""
    certificate_summary: str
    """The certificate's summary: {exit_name} {namespace} {namespace_uid} {volumes}
    {databases} {completed_at} {confirmed_by} {confirmed_at} {manifest_sha256}
    {request}."""
    certificate_request: str
    """{ticket} {requested_by} {requested_at}."""
    certificate_no_request: str


def texts_for(language: str) -> Texts:
    """The texts in `language` (`nl` or `en`); English for anything else, so an
    unknown value never stops the delivery of a backup."""
    # Imported here: the two catalogues import Texts from this module.
    from tenant_exit.storage import texts_en, texts_nl

    return texts_nl.TEXTS if language == "nl" else texts_en.TEXTS
