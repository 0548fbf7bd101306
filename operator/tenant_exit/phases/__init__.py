"""Pure decisions: (TenantExit, Observed) -> list[Action]. No I/O, no kopf.

One module per phase; `machine.decide` picks the module for the exit's phase and
`machine.decide_cancel` handles a deleted TenantExit. The reconcile package
observes, executes the actions and folds the status actions into a new status.
"""
