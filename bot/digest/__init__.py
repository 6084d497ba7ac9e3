"""The managers' daily digest: figures from the store, Persian text, chart, e-mail, delivery, schedule.

`figures` computes a `Digest` with SQL aggregates; `text`, `mail` and `chart` render it; `delivery`
sends it once per recipient, day and medium; `job` runs that every morning; `command` is the CLI.
May import the domain, `bot.config`, `bot.dates`, `bot.runtime.channel_factory` (the CLI sends
through the configured channels), `channels.base` and `storage`; the panel's digest page imports
this room, never the other way round.
"""
