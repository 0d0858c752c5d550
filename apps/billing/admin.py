"""Back-office for billing, scoped by organization. The journal, payments, webhooks and session charges are
evidence: read-only. Customers, cards, plans, subscriptions and billing settings are edited here."""
from decimal import Decimal

from django.contrib import admin, messages

from apps.organizations.admin_scoping import OrganizationScopedAdmin

from .models import (
    Account, BillingSettings, Customer, CustomerCard, JournalEntry, JournalLine, Payment, Plan, SessionCharge,
    Subscription, WebhookEvent,
)
from .gateways import SimulatedGateway
from .selectors import receivable_balance, wallet_balance
from .services.settlement import session_prices_settle
from .services.wallets import payment_webhook_handle, wallet_top_up_start


class ReadOnlyMixin:
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(BillingSettings)
class BillingSettingsAdmin(OrganizationScopedAdmin):
    list_display = ["organization", "min_balance_to_start", "invoice_series", "credit_note_series",
                    "payment_terms_days"]
    autocomplete_fields = ["organization"]


class CustomerCardInline(admin.TabularInline):
    model = CustomerCard
    extra = 0
    autocomplete_fields = ["id_tag"]


@admin.register(Customer)
class CustomerAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "kind", "regime", "currency", "wallet", "owes"]
    list_filter = ["kind", "regime", "organization"]
    search_fields = ["name", "email", "tax_id", "user__username"]
    autocomplete_fields = ["organization", "user"]
    inlines = [CustomerCardInline]
    list_select_related = ["organization"]
    actions = ["export_csv", "simulated_top_up"]

    @admin.action(description="Top up 20.00 through the simulated gateway (demo)")
    def simulated_top_up(self, request, queryset):
        """The whole provider round trip, in process: intent, payment, signed webhook, verification, credit."""
        gateway = SimulatedGateway()
        for customer in queryset.filter(regime=Customer.Regime.PREPAID):
            payment = wallet_top_up_start(customer=customer, amount=Decimal("20.00"), gateway=gateway)
            body, headers = gateway.payment_succeeded_webhook(intent_id=payment.provider_intent_id,
                                                              amount=payment.amount.amount,
                                                              currency=customer.currency)
            event = payment_webhook_handle(gateway_name=gateway.name, body=body, headers=headers)
            self.message_user(request, f"{customer}: webhook {event.event_id} {event.outcome}; wallet now "
                                       f"{wallet_balance(customer=customer):.2f} {customer.currency}",
                              messages.SUCCESS)

    @admin.display(description="wallet")
    def wallet(self, obj):
        return f"{wallet_balance(customer=obj):.2f} {obj.currency}" if obj.regime == Customer.Regime.PREPAID else "—"

    @admin.display(description="owes")
    def owes(self, obj):
        return f"{receivable_balance(customer=obj):.2f} {obj.currency}"


@admin.register(Account)
class AccountAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["code", "kind", "customer", "currency", "balance", "organization"]
    list_filter = ["kind", "currency", "organization"]
    search_fields = ["code", "customer__name"]
    list_select_related = ["customer", "organization"]


class JournalLineInline(ReadOnlyMixin, admin.TabularInline):
    model = JournalLine
    fields = ["account", "amount"]
    readonly_fields = fields
    extra = 0
    can_delete = False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["id", "posted_at", "kind", "reference", "currency", "memo", "organization"]
    list_filter = ["kind", "currency", "organization"]
    search_fields = ["reference", "memo"]
    date_hierarchy = "posted_at"
    inlines = [JournalLineInline]
    readonly_fields = [f.name for f in JournalEntry._meta.fields]


@admin.register(Payment)
class PaymentAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["id", "created_at", "customer", "gateway", "amount", "refunded", "status", "succeeded_at"]
    list_filter = ["status", "gateway", "organization"]
    search_fields = ["provider_intent_id", "customer__name"]
    readonly_fields = [f.name for f in Payment._meta.fields]


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    organization_path = "payment__organization"
    list_display = ["event_id", "gateway", "event_type", "outcome", "payment", "received_at"]
    list_filter = ["outcome", "gateway"]
    search_fields = ["event_id"]
    readonly_fields = [f.name for f in WebhookEvent._meta.fields]


@admin.register(SessionCharge)
class SessionChargeAdmin(ReadOnlyMixin, OrganizationScopedAdmin):
    list_display = ["session_id", "started_at", "customer", "energy_wh", "net", "vat", "total", "wallet_debited",
                    "receivable", "status"]
    list_filter = ["status", "period", "organization"]
    search_fields = ["session_id", "id_tag_uid", "customer__name"]
    list_select_related = ["customer"]
    readonly_fields = [f.name for f in SessionCharge._meta.fields]
    actions = ["export_csv", "settle_now"]

    @admin.action(description="Settle every rated session now")
    def settle_now(self, request, queryset):
        counts = session_prices_settle(limit=20_000)
        self.message_user(request, f"Settled: {counts or 'nothing new'}", messages.SUCCESS)


@admin.register(Plan)
class PlanAdmin(OrganizationScopedAdmin):
    list_display = ["name", "organization", "monthly_fee", "included_wh", "user_group", "card_monthly_cap_wh"]
    list_filter = ["organization"]
    search_fields = ["name"]


@admin.register(Subscription)
class SubscriptionAdmin(OrganizationScopedAdmin):
    organization_path = "customer__organization"
    list_display = ["customer", "plan", "starts_on", "ends_on"]
    autocomplete_fields = ["customer", "plan"]
