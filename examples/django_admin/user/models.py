from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """The seed's ``user.User``: the admins and the shop's customers."""
