"""Channel adapters: provider wire formats in and out. Each imports only bot.models."""
