"""Small, logic-free forms for the pages (validation only; services do the work)."""

from django import forms

from verification.models import Review, Verification


class UploadForm(forms.Form):
    image = forms.FileField(
        label="Scanned signature",
        help_text="A photo or scan of your signature on white paper (PNG, JPEG, TIFF; up to 5 MB).",
        widget=forms.ClearableFileInput(attrs={"accept": "image/*"}),
    )


class ReviewForm(forms.Form):
    verdict = forms.ChoiceField(choices=Review.Verdict.choices, widget=forms.RadioSelect)
    note = forms.CharField(
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "What did you compare? (kept in the audit trail)"}),
    )
    correction = forms.BooleanField(required=False, label="Correct the current verdict (say why in the note)")


class FlaggedFilterForm(forms.Form):
    STATE_CHOICES = [("open", "Open"), ("reviewed", "Reviewed"), ("all", "All")]
    state = forms.ChoiceField(choices=STATE_CHOICES, required=False, initial="open")
    decision = forms.ChoiceField(
        choices=[("", "Reject and review")] + [c for c in Verification.Decision.choices if c[0] != "accept"], required=False
    )
    q = forms.CharField(required=False, label="Customer", widget=forms.TextInput(attrs={"placeholder": "name or reference"}))
    since = forms.DateField(required=False, label="Since", widget=forms.DateInput(attrs={"type": "date"}))


class CustomerCreateForm(forms.Form):
    external_ref = forms.CharField(max_length=128, label="External reference")
    name = forms.CharField(max_length=200)
    consent = forms.BooleanField(label="The customer consented to biometric processing", required=True)


class ThresholdForm(forms.Form):
    threshold = forms.FloatField(
        required=False, min_value=0.0, max_value=1.0, widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "max": "1"})
    )
    use_model = forms.BooleanField(required=False, label="Use the model's threshold")


class EraseForm(forms.Form):
    confirm = forms.CharField(label="Type the customer's external reference to confirm")
    reason = forms.CharField(required=False, max_length=300)


class IdentifyForm(forms.Form):
    image = forms.FileField(label="Signature to identify", widget=forms.ClearableFileInput(attrs={"accept": "image/*"}))
    top_k = forms.IntegerField(label="Candidates", min_value=1, max_value=20, initial=5)
    case_reference = forms.CharField(label="Case reference", max_length=128, required=False)
