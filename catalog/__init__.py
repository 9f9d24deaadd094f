"""The livecart domain and its storage: no Telegram, no HTTP."""
