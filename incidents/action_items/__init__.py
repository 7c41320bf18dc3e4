"""The action items page: every item of every incident, filtered, ticked and assigned in place,
and the same list over the API (/api/v1/action-items). The writes are the post-mortem's
(incidents.postmortem.services); this room only finds the items.
"""
