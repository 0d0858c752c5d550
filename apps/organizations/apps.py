from django.apps import AppConfig
from django.db.models.signals import post_migrate


class OrganizationsConfig(AppConfig):
    name = "apps.organizations"
    label = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        # Like django.contrib.auth creating permissions: the role groups must exist after every migrate.
        from .services import role_groups_ensure

        post_migrate.connect(lambda **kwargs: role_groups_ensure(), dispatch_uid="evnet.role_groups_ensure",
                             weak=False)
