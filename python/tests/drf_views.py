"""A Django REST framework API for test_drf.py (its URLconf too): the user is the one DRF's
authentication class finds inside the view, after every middleware ran."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.urls import path
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from tests.shop.models import Order


class HeaderTokenAuthentication(BaseAuthentication):
    """``Authorization: Token <user pk>``: a stand-in for TokenAuthentication's lookup."""

    def authenticate(self, request):
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        if scheme != "Token" or not key:
            return None
        return get_user_model()._default_manager.get(pk=key), key


class OrdersView(APIView):
    authentication_classes = [HeaderTokenAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]

    def get(self, request):
        with connection.cursor() as cursor:
            cursor.execute("SELECT authz.current_user_id()")
            db_user = cursor.fetchone()[0]
        titles = sorted(Order.objects.values_list("title", flat=True))
        return Response({"user": str(request.user.pk), "db_user": db_user, "titles": titles})

    def post(self, request):
        owner = get_user_model()._default_manager.get(pk=request.data["owner"])
        Order.objects.create(owner=owner, title=request.data["title"])
        return Response({"created": request.data["title"]}, status=201)


urlpatterns = [path("api/orders/", OrdersView.as_view())]
