"""The Telegram bot (aiogram 3): routers, keyboards, middlewares and the outbox sender."""
