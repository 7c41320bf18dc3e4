"""Every URL of the incidents app, gathered from its rooms; each room lists its own.

`urlpatterns` are the HTML pages (namespace "incidents"), `api_urlpatterns` the REST face under
/api/v1/. The post-mortem comes last in both: its incidents/<reference>/... patterns are the
most general, and the fixed paths of the other rooms (incidents/import/, incidents/new/ comes
first inside the post-mortem's own list) must win over them.
"""

from __future__ import annotations

from incidents.action_items import urls as action_items
from incidents.action_items.api import urls as action_items_api
from incidents.attachments import urls as attachments
from incidents.attachments.api import urls as attachments_api
from incidents.communications import urls as communications
from incidents.communications.api import urls as communications_api
from incidents.documents import urls as documents
from incidents.documents.api import urls as documents_api
from incidents.drafting import urls as drafting
from incidents.insights import urls as insights
from incidents.insights.metrics import urls as metrics
from incidents.insights.recurrence.api import urls as recurrence_api
from incidents.live import urls as live
from incidents.postmortem import urls as postmortem
from incidents.postmortem.api import urls as postmortem_api
from incidents.statuspage import urls as statuspage
from incidents.system import urls as system
from incidents.system.api import urls as system_api
from incidents.webhooks import urls as webhooks
from incidents.webhooks.api import urls as webhooks_api

app_name = "incidents"

urlpatterns = [
    # The public status page first: the page everyone refreshes during an outage resolves in
    # the fewest steps.
    *statuspage.urlpatterns,
    *insights.urlpatterns,
    *metrics.urlpatterns,
    *documents.urlpatterns,
    *attachments.urlpatterns,
    *communications.urlpatterns,
    *system.urlpatterns,
    *action_items.urlpatterns,
    *drafting.urlpatterns,
    *live.urlpatterns,
    *webhooks.urlpatterns,
    *postmortem.urlpatterns,
]

api_urlpatterns = [
    *documents_api.urlpatterns,
    *attachments_api.urlpatterns,
    *recurrence_api.urlpatterns,
    *communications_api.urlpatterns,
    *action_items_api.urlpatterns,
    *system_api.urlpatterns,
    *webhooks_api.urlpatterns,
    *postmortem_api.urlpatterns,
]
