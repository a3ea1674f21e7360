"""Transactional outbox, inbox, publisher, message bus and the push entrypoint."""
