"""OCPP services: admission of a socket, the actions' database work (run by the group-commit writer), the prepaid
funds check (contract 2) and the message log."""
