"""The post-mortem: the incident and the sections of its document, edited in place.

- sections.py: which model holds each section and which fields people edit.
- services.py: every write: declaring, editing with compare-and-set, transitions, rows (add,
  edit, delete, move), ticking action items and criteria, the timeline lines Hindsight writes.
- selectors.py: the incident as a document (every section prefetched) and its change history.
- views.py, forms.py, urls.py: the incident page, its fragments and forms, the history page and
  the declare form.
- api/: the incidents and their rows over REST (ETag and If-Match, nested rows, transitions).
- tasks.py: re-rendering an incident's stored HTML.
"""
