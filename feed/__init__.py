"""Floor 0: the change feed, the record of every change a sync job or a webhook follows.

Services record a FeedEvent inside the transaction that made the change (`feed_record`), so the
change and its event land together or not at all. Listeners registered through core.plugins
(`feed_listen`) run in that same transaction: webhooks queue their deliveries there. Knows no
domain: the kinds are names and the data is what the recording service hands over.
"""
