"""The public status page: the page and its feeds (the only pages without a login), which
incidents are on it, subscribers with their signed confirm and unsubscribe links, and scheduled
maintenance.

- selectors.py: the queries behind the page; page.py shapes their rows and caches the result
  (and goes on without the cache when Redis is down).
- feeds.py: Atom and RSS.
- subscriber_links.py: the signed links in subscribers' mail.
- services/: subscribers (sign up, confirm, unsubscribe), maintenance windows, making an
  incident public or internal, and components with their status; one module per topic.
- tasks.py: the confirmation mail, which a sign-up hands to the outbox.
- views.py, forms.py, urls.py: the public pages, the maintenance pages and the incident page's
  public/internal switch.
"""
