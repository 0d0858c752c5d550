"""CSV import of stations and RFID cards in the back-office: upload → preview (what will be created / updated, or
every bad row with its line and column) → apply, in one transaction. Each import has its own page (a proxy model)
under "Provisioning"; a clerk imports only into the organizations they serve."""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from apps.organizations.admin_scoping import OrganizationScopedAdmin

from .exceptions import ImportRejected, ProvisioningError
from .models import CardImport, StationImport
from .services import CARD_COLUMNS, REQUIRED_COLUMNS, STATION_COLUMNS, csv_import_run

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file", help_text="UTF-8, comma or semicolon separated, first line = columns.")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError("The file is larger than 5 MB: split it.")
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError("The file is not UTF-8 text (save it as “CSV UTF-8”).") from None


class CsvImportAdmin(OrganizationScopedAdmin):
    """The change list of the proxy model is the import page; the rows themselves are edited in their own admin."""

    kind = ""
    columns: tuple[str, ...] = ()
    target_permissions: tuple[str, ...] = ()
    target_changelist = ""
    example = ""
    actions = None

    # Importing creates and changes rows of the target model: it needs exactly those permissions.
    def _allowed(self, request) -> bool:
        return request.user.is_active and request.user.is_staff and all(
            request.user.has_perm(p) for p in self.target_permissions)

    def has_module_permission(self, request):
        return self._allowed(request)

    def has_view_permission(self, request, obj=None):
        return self._allowed(request) and obj is None

    def has_change_permission(self, request, obj=None):
        return self._allowed(request) and obj is None

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self._allowed(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": self.model._meta.verbose_name,
            "kind": self.kind, "columns": self.columns, "required": REQUIRED_COLUMNS[self.kind],
            "example": self.example, "form": UploadForm(), "report": None, "errors": None, "csv_text": "",
        }
        if request.method == "POST":
            if request.POST.get("apply") and "csv_text" in request.POST:
                text = request.POST["csv_text"]
                try:
                    report = csv_import_run(kind=self.kind, text=text, actor=request.user, commit=True)
                except ImportRejected as exc:
                    context.update(errors=exc.errors, csv_text="")
                except ProvisioningError as exc:
                    context.update(errors=[], csv_text="")
                    messages.error(request, exc.message)
                else:
                    messages.success(request, f"Imported {len(report.rows)} row(s): {report.created} created, "
                                              f"{report.updated} updated.")
                    return HttpResponseRedirect(reverse(self.target_changelist))
            else:
                form = UploadForm(request.POST, request.FILES)
                context["form"] = form
                if form.is_valid():
                    text = form.cleaned_data["file"]
                    try:
                        report = csv_import_run(kind=self.kind, text=text, actor=request.user, commit=False)
                    except ImportRejected as exc:
                        context["errors"] = exc.errors
                    except ProvisioningError as exc:
                        messages.error(request, exc.message)
                    else:
                        context.update(report=report, csv_text=text)
        return TemplateResponse(request, "admin/provisioning/import.html", context)


@admin.register(StationImport)
class StationImportAdmin(CsvImportAdmin):
    organization_path = "site__organization"
    kind = "stations"
    columns = STATION_COLUMNS
    target_permissions = ("stations.add_chargingstation", "stations.change_chargingstation",
                          "stations.add_connector", "stations.change_connector")
    target_changelist = "admin:stations_chargingstation_changelist"
    example = ("ocpp_id,site,circuit,parking_spot,password,connectors,max_power_w,current_type,connector_type\n"
               "ZCS031974,Condomínio Edifício Tejo,Piso -3 Circuito 1,Lugar n°3049,s3cret-3049,1,7400,AC,Type2")


@admin.register(CardImport)
class CardImportAdmin(CsvImportAdmin):
    organization_path = "organization"
    kind = "cards"
    columns = CARD_COLUMNS
    target_permissions = ("users.add_idtag", "users.change_idtag", "stations.add_stationpermission")
    target_changelist = "admin:users_idtag_changelist"
    example = ("uid,organization,owner,label,user_group,expires_at,stations\n"
               "04A1B2C3D4,condominio-tejo,maria,Cartão 12,resident,2027-12-31,ZCS031974;ZPR150666")
