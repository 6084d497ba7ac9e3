"""Background jobs that run on the clock: the survey closer (a resolved ticket nobody answered
about closes) and the retrainer (the classifier learns from operators' corrections in a child
process and is swapped in when it scores better) run once per deployment; the media fetcher
(photos and voice notes fetched from the provider after the message is stored, with optional
speech recognition) runs in every process and claims its rows with a lease. Started and
supervised by `bot.app.Sada`; may import the domain, `bot.config`, `bot.dates`,
`bot.intake.understanding`, `channels.base`, `nlp` and `storage`.
"""
