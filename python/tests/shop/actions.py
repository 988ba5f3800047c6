ADMIN_ACTIONS = [
    {"model": "shop.Order", "codename": "print_receipt", "name": "Print receipt", "kind": "server", "scope": "bulk"},
    {"model": "shop.Order", "codename": "issue_tax_invoice", "name": "Issue tax invoice", "kind": "server", "scope": "bulk"},
    {"model": "shop.Order", "codename": None, "name": "Refresh", "kind": "client", "scope": "toolbar"},
]
