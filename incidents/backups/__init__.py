"""Backup and restore of every row, for moving an installation between databases.

`manage.py backup` writes all of Hindsight's rows as one JSON file (Django's dumpdata with natural
keys, so it does not depend on the content type and permission ids one database gave out), the
same bytes for the same data. `manage.py restore FILE` loads it into an empty migrated database,
in one transaction, and refuses a database that already holds data. pg_dump stays the primary
backup of a PostgreSQL installation; this one is what moves a SQLite installation to PostgreSQL.
Lives on the top floor because it knows which rows migrate itself writes, some of them incidents'.
"""
