"""The `sada` command: argument parsing and logging set-up (`main`), and the commands that are
not the service itself: `nlp` (train, eval), `chat`, `simulate`, `demo`, `retention`. Every
command that feeds messages goes through `bot.app.Sada.inbound`, the one front door. This room
may import anything in `bot`; nothing imports it except `bot.__main__`.
"""
