"""Floor 0: what every app shares, knowing no domain.

Roles and permissions with their decorators (roles.py, permissions.py), the navigation and the
template context (navigation.py, context_processors.py), the one Markdown renderer
(rendering.py), the template filters (templatetags/hindsight.py), and the registry of every
plug-in point through which a higher floor adds behaviour to a lower one (plugins.py).
"""
