"""The public status page: the page and its feeds (the only pages without a login), subscribers
with their signed confirm and unsubscribe links, and scheduled maintenance.

- selectors.py: the queries behind the page; page.py shapes their rows and caches the result.
- feeds.py: Atom and RSS.
- subscriber_links.py: the signed links in subscribers' mail.
- services.py: subscribers (sign up, confirm, unsubscribe) and maintenance windows.
- tasks.py: the confirmation mail, which a sign-up hands to the outbox.
- views.py, forms.py, urls.py: the public pages and the maintenance pages.
"""
