"""Backups: every table's rows and the uploaded files in one portable, versioned file.

`dump` writes one, `restore` reads one into an empty database at the same schema version, on
either engine; `piccolo project backup` and `piccolo project restore` drive them.
"""
