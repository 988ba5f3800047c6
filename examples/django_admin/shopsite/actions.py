"""The seed's ADMIN_ACTIONS (shared/seeds/003), as ``settings.PG_AUTHZ_ADMIN_ACTIONS`` names them."""

ADMIN_ACTIONS = [
    # model, codename, name, kind (client|server), scope (toolbar|bulk)
    {"model": "user.User", "codename": "export", "name": "Export users", "kind": "server", "scope": "bulk"},
    {"model": "order.Order", "codename": "print_receipt", "name": "Print receipt", "kind": "server", "scope": "bulk"},
    {"model": "order.Order", "codename": "issue_tax_invoice", "name": "Issue tax invoice", "kind": "server", "scope": "bulk"},
    # Not in the seed: the bulk change the dashboard watches (superusers only: nobody is granted it).
    {"model": "order.Order", "codename": "mark_shipped", "name": "Mark shipped", "kind": "server", "scope": "bulk",
     "handler": "public.order_mark_shipped"},
    {"model": "subscription.Subscription", "codename": "print_receipt", "name": "Print receipt", "kind": "server", "scope": "bulk"},
    {"model": "notification.Notification", "codename": None, "name": "Send notification", "kind": "server", "scope": "toolbar"},
]
