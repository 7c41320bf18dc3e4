"""Live, together: an open incident page shows what others change, and who else has it open.

- services.py: the marks every write to an incident or its rows leaves (which parts of the page
  it changed, and who changed them), written after the write commits.
- selectors.py: the page's change counter (the poll's one query) and the marks of its parts.
- presence.py: who has the page open and which part they are editing, in the cache only.
- views.py, urls.py: the state an open page polls (answered 304 while nothing changed) and the
  changed parts it then fetches, all in one answer.

The page's side is static/js/live.js with templates/incidents/live/_bar.html.
"""
