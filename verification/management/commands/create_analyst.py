from django.core.management.base import BaseCommand, CommandError

from verification.errors import DomainError
from verification.services.users import analyst_create


class Command(BaseCommand):
    help = "Create an analyst (member of the 'analysts' group: reads verifications, writes reviews) and print its API token."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", help="default: a random one, printed")
        parser.add_argument("--email", default="")
        parser.add_argument("--admin", action="store_true", help="create a staff admin instead")

    def handle(self, *args, username, password, email, admin, **options):
        try:
            user, password_used, token = analyst_create(username=username, password=password, email=email, admin=admin)
        except DomainError as exc:
            raise CommandError(str(exc)) from None
        role = "admin" if admin else "analyst"
        self.stdout.write(f"{role} {user.username} ready")
        if not password:
            self.stdout.write(f"password: {password_used}")
        self.stdout.write(f"API token: {token}")
