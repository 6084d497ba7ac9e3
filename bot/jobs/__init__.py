"""Background jobs that run on the clock in one process per deployment: the survey closer
(a resolved ticket nobody answered about closes) and the retrainer (the classifier learns from
operators' corrections in a child process and is swapped in when it scores better). Started and
supervised by `bot.app.Sada`; may import the domain, `bot.intake.understanding`, `nlp` and
`storage`.
"""
