"""Restore verification inside the backup Job (issue 13): the dump's plaintext is
loaded into a scratch server while it streams to the archive, then every table
and definition is compared with the source.

It proves that the archive loads into a database server of the source's family
and holds the source's rows and definitions. It does not make the backup a
restore point: the application still cannot be restored from it.
"""
