"""qbosync: copy Productive invoices to QuickBooks Online and mirror QuickBooks payments back."""
