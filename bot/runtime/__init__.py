"""How the service runs: `sada serve --workers N` processes sharing a port (`processes`;
"worker" means only such a process), supervised background tasks (`supervision`), the event
loop choice, batching of concurrent calls into one transaction (`batching`; its parallelism is
counted in lanes), and building the configured channels (`channel_factory`). Knows nothing of
tickets; may import the domain types, `channels` and `storage`.
"""
