from django.urls import path

from verification import consumers

websocket_urlpatterns = [
    path("ws/dashboard/", consumers.DashboardConsumer.as_asgi()),
    path("ws/customer/<int:customer_id>/", consumers.CustomerConsumer.as_asgi()),
]
