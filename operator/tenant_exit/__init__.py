"""tenant-exit-operator: takes a healthcare SaaS tenant through a legally safe exit.

Phases: ReadOnlyLicensed -> BackupRunning -> AwaitingReceipt -> Deleting -> Deleted.
A backup made here is an archive for the legal retention duty; it can never
restore the application.
"""

__version__ = "0.1.0"
