from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length


class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


NEW_PASSWORD_HINT = _l("At least 12 characters. A few unrelated words make a strong one.")


class AcceptInvitationForm(FlaskForm):
    new_password = PasswordField(
        _l("Choose a password"),
        validators=[Length(max=256)],
        description=NEW_PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Type the password again"), render_kw={"autocomplete": "new-password"}
    )
    current_password = PasswordField(
        _l("Your password"),
        validators=[Length(max=256)],
        description=_l("You already have an account with us: confirm it is you."),
        render_kw={"autocomplete": "current-password"},
    )
    consent = BooleanField(
        _l("I have read this and I agree"),
        validators=[DataRequired(_l("Tick the box to agree before you join."))],
    )
    consent_text_id = HiddenField()


class ResetRequestForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(_l("Enter your email.")), Length(max=254)],
        render_kw={"autocomplete": "username"},
    )


class ResetPasswordForm(FlaskForm):
    new_password = PasswordField(
        _l("New password"),
        validators=[DataRequired(_l("Choose a password.")), Length(max=256)],
        description=NEW_PASSWORD_HINT,
        render_kw={"autocomplete": "new-password"},
    )
    confirm_password = PasswordField(
        _l("Type it again"),
        validators=[EqualTo("new_password", _l("The two passwords are not the same."))],
        render_kw={"autocomplete": "new-password"},
    )


class AcceptGiftLinkForm(AcceptInvitationForm):
    """Accepting a gift from its emailed link: the same fields as joining."""


class ReauthForm(FlaskForm):
    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(_l("Enter your password.")), Length(max=256)],
        render_kw={"autocomplete": "current-password"},
    )


class TwoStepForm(FlaskForm):
    code = StringField(
        _l("Code"),
        validators=[DataRequired(_l("Enter the code.")), Length(max=40)],
        description=_l(
            "The 6-digit code your authenticator app shows now, or one of your recovery codes."
        ),
        render_kw={"autocomplete": "one-time-code", "inputmode": "text", "autocapitalize": "none"},
    )


class TwoStepSetupForm(FlaskForm):
    code = StringField(
        _l("Code from the app"),
        validators=[DataRequired(_l("Enter the code the app shows.")), Length(max=12)],
        render_kw={"autocomplete": "one-time-code", "inputmode": "numeric"},
    )
