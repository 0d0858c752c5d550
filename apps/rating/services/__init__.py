"""Writes of the rating app, split by subdomain (STYLE.md): final prices, receipts, quotes, cost-recovery reports."""
