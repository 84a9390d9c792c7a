"""The audit log: who did what, to which row, when and from where, appended to `audit_entry`.

`record` is what the accounts, the admin's table API and a site's staff pages call; the admin
shows the log read-only, `piccolo project audit-export` writes it out, and a nightly job
deletes what is older than AUDIT_RETENTION_DAYS.
"""
