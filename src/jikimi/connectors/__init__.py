"""Connectors bring material into Jikimi from where it lives: Telegram Desktop exports, the
Telegram Bot API, plain folders. A connector only reads and describes what it finds (messages,
senders, media references, problems as data); intake, hashing and custody happen downstream.
"""
