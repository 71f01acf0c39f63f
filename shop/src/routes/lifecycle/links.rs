//! Pages opened from an emailed link: the forgotten password and its reset, the email change, the activation.

use super::*;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

fn forgot_page<'a>(state: &'a AppState, ctx: &'a RequestContext, email: String) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Mot de passe oublié"),
        "Mot de passe oublié",
    );
    page.intro = vec![
        "Indiquez l'adresse email de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de \
         passe."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/mot-de-passe/oublie",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![FormField::email("email", "Email", email)],
        submit: "Recevoir le lien",
        danger: false,
    });
    page.links = vec![("/connexion", "Retour à la connexion")];
    page
}

pub async fn page_forgot(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    forgot_page(&state, &ctx, String::new()).respond(StatusCode::OK)
}

/// `POST /mot-de-passe/oublie`: the same page whether the address has an account or not.
pub async fn page_forgot_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Result<Response, PageError> {
    match service::request_password_reset(&state, &form.email) {
        Ok(()) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Mot de passe oublié"),
                "Mot de passe oublié",
            );
            page.notice = Some(RESET_SENT.to_string());
            page.links = vec![("/connexion", "Retour à la connexion")];
            page.respond(StatusCode::OK)
        }
        Err(err) => {
            let mut problems = FieldMessages::default();
            push_error(&mut problems, "email", err);
            let status = status_of(&problems);
            forgot_page(&state, &ctx, form.email)
                .with_problems(problems)
                .respond(status)
        }
    }
}

#[derive(Deserialize)]
pub struct TokenQuery {
    #[serde(default)]
    token: String,
    /// Where an activation goes on to.
    next: Option<String>,
}

fn invalid_link_page<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
    heading: &'static str,
    again: (&'static str, &'static str),
) -> Result<Response, PageError> {
    let mut page = FormPage::new(Layout::new(state, ctx, heading), heading);
    page.intro = vec![INVALID_LINK.to_string()];
    page.links = vec![again];
    page.respond(StatusCode::BAD_REQUEST)
}

fn invalid_reset_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Nouveau mot de passe",
        ("/mot-de-passe/oublie", "Demander un nouveau lien"),
    )
}

fn reset_page<'a>(state: &'a AppState, ctx: &'a RequestContext, token: &str) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Nouveau mot de passe"),
        "Choisir un nouveau mot de passe",
    );
    page.intro = vec![
        "Une fois le nouveau mot de passe enregistré, vos sessions ouvertes sur d'autres appareils seront fermées."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/mot-de-passe/nouveau",
        csrf: true,
        hidden: vec![("token", token.trim().to_string())],
        fields: vec![
            FormField::password("password", "Nouveau mot de passe", "new-password")
                .with_hint(NEW_PASSWORD_HINT),
            FormField::password(
                "password_confirm",
                "Confirmer le mot de passe",
                "new-password",
            ),
        ],
        submit: "Enregistrer le mot de passe",
        danger: false,
    });
    page
}

/// `GET /mot-de-passe/nouveau?token=…`, the reset email's link.
pub async fn page_reset(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::PasswordReset).await {
        Ok(_) => reset_page(&state, &ctx, &q.token).respond(StatusCode::OK),
        Err(LifecycleError::InvalidLink) => invalid_reset_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
}

/// `POST /mot-de-passe/nouveau`: sets the password, ends every session, and signs this browser in.
pub async fn page_reset_submit(
    State(state): State<AppState>,
    ctx: RequestContext,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Result<Response, PageError> {
    let mut problems = FieldMessages::default();
    let result = if form.password == form.password_confirm {
        service::reset_password(&state, &form.token, SecretString::from(form.password)).await
    } else {
        // The link is checked even so: an expired one says so rather than asking to type again.
        service::link_user(&state, &form.token, LinkPurpose::PasswordReset)
            .await
            .and_then(|_| {
                Err(LifecycleError::Invalid(crate::domain::FieldError::new(
                    "password_confirm",
                    crate::domain::Rule::Mismatch("password"),
                )))
            })
    };
    match result {
        Ok(user) => {
            let signed_in = accounts_service::open_session(&state, user).await?;
            Ok(signed_in_redirect(&state, &ctx, &signed_in, "/compte?fait=mot-de-passe").await?)
        }
        Err(LifecycleError::InvalidLink) => invalid_reset_link(&state, &ctx),
        Err(err @ LifecycleError::Invalid(_)) => {
            push_error(&mut problems, "password", err);
            reset_page(&state, &ctx, &form.token)
                .with_problems(problems)
                .respond(StatusCode::UNPROCESSABLE_ENTITY)
        }
        Err(err) => Err(AppError::from(err).into()),
    }
}

// ----- email change, from the link sent to the new address -----

fn invalid_email_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Nouvelle adresse email",
        ("/compte/profil", "Changer d'adresse de nouveau"),
    )
}

/// `GET /compte/email/confirmer?token=…`: asks for a click (a mail scanner opening the link changes nothing).
pub async fn page_email_link(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::EmailChange).await {
        Ok(_) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Nouvelle adresse email"),
                "Nouvelle adresse email",
            );
            page.intro = vec![
                "Confirmez que votre compte VIVR utilise désormais l'adresse à laquelle ce lien a été envoyé."
                    .to_string(),
            ];
            page.form = Some(Form {
                action: "/compte/email/confirmer",
                csrf: false,
                hidden: vec![("token", q.token.trim().to_string())],
                fields: Vec::new(),
                submit: "Confirmer la nouvelle adresse",
                danger: false,
            });
            page.respond(StatusCode::OK)
        }
        Err(LifecycleError::InvalidLink) => invalid_email_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// `POST /compte/email/confirmer`: the link's token is the authorisation (no session or CSRF token needed: the
/// new address may be read on another device).
pub async fn page_email_confirm(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<ForgotToken>,
) -> Result<Response, PageError> {
    match service::confirm_email_change(&state, &form.token).await {
        Ok(_) => Ok(Redirect::to("/compte?fait=email").into_response()),
        Err(LifecycleError::InvalidLink) => invalid_email_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActivationForm {
    #[serde(default)]
    token: String,
    next: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForgotToken {
    #[serde(default)]
    token: String,
}

// ----- activation, from the link sent when the account was created -----

fn invalid_activation_link(state: &AppState, ctx: &RequestContext) -> Result<Response, PageError> {
    invalid_link_page(
        state,
        ctx,
        "Activer mon compte",
        (
            "/connexion",
            "Se connecter : un nouveau lien vous sera envoyé",
        ),
    )
}

/// `GET /compte/activer?token=…`: asks for a click (a mail scanner opening the link activates nothing).
pub async fn page_activation_link(
    State(state): State<AppState>,
    ctx: RequestContext,
    Query(q): Query<TokenQuery>,
) -> Result<Response, PageError> {
    match service::link_user(&state, &q.token, LinkPurpose::Activation).await {
        Ok(_) => {
            let mut page = FormPage::new(
                Layout::new(&state, &ctx, "Activer mon compte"),
                "Activer mon compte",
            );
            page.intro =
                vec!["Un clic, et votre compte VIVR est prêt : vous serez connecté.".to_string()];
            let mut hidden = vec![("token", q.token.trim().to_string())];
            if let Some(next) = &q.next {
                hidden.push(("next", safe_redirect_target(Some(next))));
            }
            page.form = Some(Form {
                action: "/compte/activer",
                csrf: false,
                hidden,
                fields: Vec::new(),
                submit: "Activer mon compte",
                danger: false,
            });
            page.respond(StatusCode::OK)
        }
        Err(LifecycleError::InvalidLink) => invalid_activation_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}

/// `POST /compte/activer`: the link's token is the authorisation; the account is activated and this browser
/// signed in.
pub async fn page_activate(
    State(state): State<AppState>,
    ctx: RequestContext,
    PageForm(form): PageForm<ActivationForm>,
) -> Result<Response, PageError> {
    match service::activate(&state, &form.token).await {
        Ok(user) => {
            let signed_in = accounts_service::open_session(&state, user).await?;
            let to = match form.next.as_deref() {
                Some(next) => safe_redirect_target(Some(next)),
                None => "/compte?fait=active".to_string(),
            };
            Ok(signed_in_redirect(&state, &ctx, &signed_in, &to).await?)
        }
        Err(LifecycleError::InvalidLink) => invalid_activation_link(&state, &ctx),
        Err(err) => Err(AppError::from(err).into()),
    }
}
