//! A signed-in customer's settings: the password and the profile.

use super::*;

fn password_page<'a>(state: &'a AppState, ctx: &'a RequestContext) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Changer de mot de passe"),
        "Changer de mot de passe",
    );
    page.intro = vec![
        "Vos sessions ouvertes sur d'autres appareils seront fermées ; celle-ci reste ouverte."
            .to_string(),
    ];
    page.form = Some(Form {
        action: "/compte/mot-de-passe",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![
            FormField::password(
                "current_password",
                "Mot de passe actuel",
                "current-password",
            ),
            FormField::password("new_password", "Nouveau mot de passe", "new-password")
                .with_hint(NEW_PASSWORD_HINT),
            FormField::password(
                "new_password_confirm",
                "Confirmer le nouveau mot de passe",
                "new-password",
            ),
        ],
        submit: "Changer le mot de passe",
        danger: false,
    });
    page.links = vec![("/compte", "Retour à mon compte")];
    page
}

pub async fn page_password(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    if ctx.user.is_none() {
        return Ok(sign_in_first("/compte/mot-de-passe"));
    }
    password_page(&state, &ctx).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    new_password_confirm: String,
}

pub async fn page_password_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let new = SecretString::from(form.new_password);
    let confirm = SecretString::from(form.new_password_confirm);
    let mut problems = FieldMessages::default();
    for problem in service::password_change_problems(&user, &new, Some(&confirm)) {
        problems.push_rule(problem);
    }
    if problems.is_empty() {
        let current = SecretString::from(form.current_password);
        match service::change_password(&state, ip, &user, ctx.session_hash.as_deref(), current, new)
            .await
        {
            Ok(_) => return Ok(Redirect::to("/compte?fait=mot-de-passe").into_response()),
            Err(err @ (LifecycleError::Invalid(_) | LifecycleError::WrongPassword)) => {
                push_error(&mut problems, "current_password", err)
            }
            Err(err) => return Err(AppError::from(err).into()),
        }
    }
    password_page(&state, &ctx)
        .with_problems(problems)
        .respond(StatusCode::UNPROCESSABLE_ENTITY)
}

fn profile_page<'a>(
    state: &'a AppState,
    ctx: &'a RequestContext,
    name: String,
    email: String,
) -> FormPage<'a> {
    let mut page = FormPage::new(
        Layout::new(state, ctx, "Mes informations"),
        "Mes informations",
    );
    page.form = Some(Form {
        action: "/compte/profil",
        csrf: true,
        hidden: Vec::new(),
        fields: vec![
            FormField {
                name: "name",
                label: "Nom",
                kind: "text",
                autocomplete: "name",
                max_length: 100,
                required: false,
                value: name,
                hint: None,
            },
            FormField::email("email", "Email", email).with_hint(
                "Une nouvelle adresse est enregistrée quand vous ouvrez le lien que nous y envoyons.",
            ),
            FormField {
                required: false,
                ..FormField::password(
                    "current_password",
                    "Mot de passe actuel (pour changer d'adresse email)",
                    "current-password",
                )
            },
        ],
        submit: "Enregistrer",
        danger: false,
    });
    page.links = vec![("/compte", "Retour à mon compte")];
    page
}

pub async fn page_profile(
    State(state): State<AppState>,
    ctx: RequestContext,
) -> Result<Response, PageError> {
    let Some(user) = ctx.user.clone() else {
        return Ok(sign_in_first("/compte/profil"));
    };
    profile_page(&state, &ctx, user.name.unwrap_or_default(), user.email).respond(StatusCode::OK)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
}

pub async fn page_profile_submit(
    State(state): State<AppState>,
    SignedIn(user): SignedIn,
    ctx: RequestContext,
    ClientIp(ip): ClientIp,
    CsrfForm(form): CsrfForm<ProfileForm>,
) -> Result<Response, PageError> {
    let mut problems = FieldMessages::default();
    for problem in service::profile_problems(Some(&form.name), &form.email) {
        problems.push_rule(problem);
    }
    if problems.is_empty() {
        let password = SecretString::from(form.current_password);
        match service::update_profile(
            &state,
            ip,
            &user,
            Some(&form.name),
            &form.email,
            Some(password),
        )
        .await
        {
            Ok(change) => {
                let done = if change.email_pending.is_some() {
                    "email-envoye"
                } else {
                    "profil"
                };
                return Ok(Redirect::to(&format!("/compte?fait={done}")).into_response());
            }
            Err(err @ (LifecycleError::Invalid(_) | LifecycleError::WrongPassword)) => {
                push_error(&mut problems, "current_password", err)
            }
            Err(err) => return Err(AppError::from(err).into()),
        }
    }
    profile_page(&state, &ctx, form.name, form.email)
        .with_problems(problems)
        .respond(StatusCode::UNPROCESSABLE_ENTITY)
}
