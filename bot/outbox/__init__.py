"""Everything Sada sends: the outbox dispatcher claims due rows, sends them through their
channel, settles them (the sent journal first), retries with back-off and falls back to SMS for
a citizen who blocked the bot. Replies are queued by the domain (`bot.lifecycle`) in the same
transaction as the change they report; this room only delivers them. May import the domain,
`bot.dates`, `bot.runtime.batching`, `channels` and `storage`.
"""
