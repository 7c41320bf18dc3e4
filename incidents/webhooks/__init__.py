"""Webhooks for every event of the feed: endpoints choose the kinds they follow; each recorded
event becomes one signed delivery per active endpoint that follows it.

- payloads: the envelope every delivery carries and the signed headers (the scheme of
  incidents.communications.messages, plus the event's id and kind).
- services: the feed listener that queues deliveries in the recording transaction, and the
  endpoint's writes (save, rotate the secret, ping, redeliver, delete), and forgetting old
  deliveries (beat, HINDSIGHT_WEBHOOK_LOG_DAYS).
- sending: one attempt of one delivery, through the prober's SSRF guard, recorded.
- tasks: the Celery face, carried by the outbox, retrying with backoff and jitter.
- selectors, forms, views, urls, api/: the admins' page and /api/v1/webhooks.
"""
