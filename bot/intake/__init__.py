"""The path of one inbound message, in order: the flood limit (`flood`), group commit
(`ingest`: one transaction and a savepoint per group), the gateway (`gateway.handle_group`:
understand ahead of the lock, write, after-commit), which hands each message to the intent
reader (`intent`) and then to new requests, status questions by tracking code (`code_lookups`)
or survey answers; `understanding` wraps nlp/ (normalise, classify through `nlp.policy`, locate,
near-duplicates). May import the domain modules at the top of `bot`, `bot.config`, `bot.dates`,
`bot.runtime.batching`, `nlp`, `storage`, and of `channels` only the shared parts (`base`'s
Protocols, `phone`); never `bot.web`, `bot.cli` or a provider module.
"""
