"""Billing writes, split by subdomain: ledger (journal posting), wallets (top-ups, refunds, webhooks), settlement
(session charges) and plans."""
