"""The draft from the facts: "Start the post-mortem" on the incident page (and POST
/incidents/{ref}/draft in the API) proposes a first draft from what Hindsight already knows.

- facts.py: what a draft would add, from the incident's status times, the correlation (the
  suspect deployment, rollbacks, health), and the messages sent, minus what rows already tell;
- services.py: proposing, and keeping or discarding a proposal, one at a time or all at once;
- selectors.py: what waits to be kept, read from the page's prefetched rows;
- views.py, urls.py: the page's buttons; the API's actions on the incident are in
  incidents.postmortem.api.views.draft.
"""
