"""What Sada serves over HTTP besides the channel webhooks: the operators' panel (`panel`),
the public statistics page (`public_stats`) and the Jalali shaping of report periods they share
(`report_periods`). Pages read the store through `storage` query classes and change tickets
only through `bot.lifecycle`; nothing in intake or the outbox imports this room.
"""
