"""Floor 0: the transactional outbox both apps hand Celery work to.

A change that needs a task writes an OutboxMessage in its own transaction
(`outbox_enqueue`); after commit one quick publish is tried, and beat's relay publishes whatever
that could not. A request never waits on a broker that is down or wedged, and no work is lost
while it is. Only tasks an app registered with `core.plugins.outbox_carry` (from its AppConfig.ready()) can be
carried, so a row is never a way to call arbitrary code. Knows no domain.
"""
