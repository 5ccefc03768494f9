from django.contrib.auth import views as auth_views
from django.shortcuts import redirect
from django.urls import path

from verification.roles import is_staff_member
from verification.web.views import analyst, auth, customer, documents, identify, images, manage


def home(request):
    if request.user.is_authenticated and is_staff_member(request.user):
        return redirect("web:dashboard")
    return redirect("web:login")


app_name = "web"

urlpatterns = [
    path("", home, name="home"),
    path("login/", auth.login, name="login"),
    path("logout/", auth_views.LogoutView.as_view(next_page="web:login"), name="logout"),
    # customer signing pages
    path("sign/<str:token>/", customer.sign, name="sign"),
    path("sign/<str:token>/upload/", customer.sign_upload, name="sign-upload"),
    path("sign/<str:token>/result/<int:verification_id>/", customer.sign_result, name="sign-result"),
    # analysts
    path("dashboard/", analyst.dashboard, name="dashboard"),
    path("dashboard/counters.json", analyst.counters, name="counters"),
    path("dashboard/flagged/", analyst.flagged, name="flagged"),
    path("dashboard/identify/", identify.identify, name="identify"),
    path("dashboard/identifications/<int:identification_id>/", identify.identification, name="identification"),
    path(
        "signatures/identifications/<int:identification_id>/prepared.png",
        identify.identification_prepared,
        name="identification-prepared",
    ),
    path("dashboard/verifications/<int:verification_id>/", analyst.verification_detail, name="verification-detail"),
    path("documents/", documents.documents, name="documents"),
    path("signatures/verifications/<int:verification_id>/original", images.verification_original, name="verification-original"),
    path(
        "signatures/verifications/<int:verification_id>/prepared.png", images.verification_prepared, name="verification-prepared"
    ),
    path("signatures/verifications/<int:verification_id>/cleaned.png", images.verification_cleaned, name="verification-cleaned"),
    path("signatures/references/<int:reference_id>/original", images.reference_original, name="reference-original"),
    path("signatures/references/<int:reference_id>/prepared.png", images.reference_prepared, name="reference-prepared"),
    # admins
    path("manage/customers/", manage.customers, name="customers"),
    path("manage/customers/<int:customer_id>/", manage.customer, name="customer"),
    path("manage/customers/<int:customer_id>/signing-link/", manage.customer_signing_link, name="customer-signing-link"),
    path("manage/customers/<int:customer_id>/reenrollment/", manage.customer_reenrollment, name="customer-reenrollment"),
    path(
        "manage/customers/<int:customer_id>/references/<int:reference_id>/approve/",
        manage.reference_approve_view,
        name="reference-approve",
    ),
    path(
        "manage/customers/<int:customer_id>/references/<int:reference_id>/reject/",
        manage.reference_reject_view,
        name="reference-reject",
    ),
    path("manage/customers/<int:customer_id>/retrain/", manage.customer_retrain, name="customer-retrain"),
    path("manage/customers/<int:customer_id>/revoke/", manage.customer_revoke, name="customer-revoke"),
    path("manage/customers/<int:customer_id>/threshold/", manage.customer_threshold, name="customer-threshold"),
    path("manage/customers/<int:customer_id>/erase/", manage.customer_erase, name="customer-erase"),
    path("manage/jobs/", manage.jobs, name="jobs"),
    path("manage/models/", manage.models, name="models"),
    path("manage/models/<int:model_version_id>/activate/", manage.model_activate, name="model-activate"),
]
