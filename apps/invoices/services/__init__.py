"""Invoice writes: documents (issue, credit, pay, overdue), delivery (PDF, e-mail), closing (the monthly close),
exports (ERP, SAF-T PT) and reconciliation."""
