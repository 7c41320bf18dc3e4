"""What incidents plugs into the system side (the deployments app), which never imports it.

Each piece fills a plug-in point of core.plugins from IncidentsConfig.ready():
- gate.py: the gate rule `blocking_action_items`;
- services.py: rollbacks written on open incidents' timelines, and incidents drafted from failing
  health checks;
- links.py: the incidents a deployment is tied to, for deployments' pages.
It also shows the system around an incident: the "Deployments and health" section of the
incident page (views.py) and GET /incidents/{ref}/correlation (api/).
"""
